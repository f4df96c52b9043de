"""Writing run outcomes back into HEARTBEAT.md: the one path cycles and wakeups share.

    edits_for(each outcome) -> re-read -> rebase onto hand edits by identity -> CAS write

The file is re-read before writing; when it changed meanwhile the edits are
re-applied by task identity onto the new text (a task deleted or renamed
meanwhile keeps its result only in the ledger), and the write happens only if
the file is still the text read, else it starts over.
"""

from __future__ import annotations

from collections.abc import Sequence

from localhb.core.atomic import Hook
from localhb.cycle.execute import Finished
from localhb.cycle.workspace import Workspace
from localhb.format.edit import Edit, MoveToCompleted, apply_edits
from localhb.format.model import Section
from localhb.format.parser import Document
from localhb.state.files import Snapshot, read_heartbeat, read_only, unchanged_since, write_atomic
from localhb.timing.plan import edits_for

__all__ = ["WRITE_TRIES", "write_outcomes"]

WRITE_TRIES = 5


def write_outcomes(
    ws: Workspace, finished: Sequence[Finished], *, hook: Hook | None = None
) -> tuple[list[str], list[str]]:
    """Apply every outcome's edits to the file as it is now, atomically.

    `hook` is called at each step of the write (a test seam).

    Returns warnings, and the ids of the tasks that were moved to Completed.
    """
    tz, policy = ws.tz, ws.policy
    snap: Snapshot = ws.snapshot
    doc: Document = ws.doc
    warnings: list[str] = []
    edits: list[Edit] = []
    for f in finished:
        edits += edits_for(
            f.work.task,
            f.outcome,
            started=f.started.astimezone(tz),
            finished=f.finished.astimezone(tz),
            policy=policy,
            consecutive_failures=f.failures,
        )
    if not edits:
        return warnings, []
    path = ws.file
    if read_only(path):  # chmod 444: the person said hands off
        warnings.append(
            f"{path} is read-only, so it was left as it is; the run results are in "
            "`localhb runs` (make it writable for localhb to record them)"
        )
        return warnings, []
    dropped_all: set[str] = set()
    done_moves: set[str] = set()  # moved to Completed already (our own earlier write)
    for _ in range(WRITE_TRIES):
        current = read_heartbeat(path)
        base = doc
        keep = edits
        if not current.same_as(snap):
            base = ws.parse(current.text)
            keep, dropped, already = _rebase(doc, base, edits)
            done_moves.update(already)
            warnings += [
                f"{tid}: removed or renamed in HEARTBEAT.md while it ran; the file was not "
                f"updated for it (its result is in `localhb runs`)"
                for tid in dropped
                if tid not in dropped_all
            ]
            dropped_all.update(dropped)
        text = apply_edits(base, keep)
        # The file is checked again as the last step before the rename, and
        # read back after it: False means it moved under us, so re-apply.
        if text == current.text or write_atomic(
            path, text, precheck=unchanged_since(current), hook=hook
        ):
            moved = [e.task_id for e in keep if isinstance(e, MoveToCompleted)]
            return warnings, [*moved, *sorted(done_moves - set(moved))]
        snap, doc = current, base  # edited meanwhile: re-apply onto the file as it is
    warnings.append("HEARTBEAT.md kept changing; the run results were not written to it")
    return warnings, []


def _rebase(
    old: Document, new: Document, edits: list[Edit]
) -> tuple[list[Edit], list[str], list[str]]:
    """Keep the edits whose task the new text still has, by identity, in Pending.

    A task deleted or renamed meanwhile is not brought back (its result stays
    in the ledger); a task edited in place gets its result on its new text.
    Returns the edits kept, the tasks dropped, and the tasks to move that are
    in Completed already (an editor saved over our write, keeping it).
    """
    dropped: list[str] = []
    already: list[str] = []
    keep: list[Edit] = []
    verdict: dict[str, bool] = {}
    moving = {e.task_id for e in edits if isinstance(e, MoveToCompleted)}
    for e in edits:
        if e.task_id not in verdict:
            after = new.task(e.task_id)
            verdict[e.task_id] = (
                old.task(e.task_id) is not None
                and after is not None
                and after.section is Section.PENDING
                and not after.problem
            )
            if verdict[e.task_id]:
                pass
            elif e.task_id in moving and after is not None and after.section is Section.COMPLETED:
                already.append(e.task_id)
            else:
                dropped.append(e.task_id)
        if verdict[e.task_id]:
            keep.append(e)
    return keep, dropped, already
