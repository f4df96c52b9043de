"""One heartbeat cycle: gate, lock, read, evaluate, execute, update the file, record.

    active hours? ── no ──> skip (recorded), exit 0
    cycle lock?   ── held ─> skip (recorded), exit 0
    read + parse  ── errors ─> HeartbeatFileError (nothing run, file untouched)
    zombie cleanup, then plan() from the file and the ledger
    nothing due   ──> HEARTBEAT_OK (no network, file byte-identical)
    execute       ──> agent per task (max_concurrent at once), ledger + health per run
    write         ──> re-read; re-apply edits by identity onto any hand edit; atomic

The agent module (and with it `openai`/`httpx`) is imported only when work
is due. Every exception inside a task is caught and recorded as that task's
error (panic recovery); the cycle goes on.
"""

from __future__ import annotations

import logging
import os
import threading
import traceback
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from localhb.core.errors import HeartbeatFileError, LedgerError
from localhb.cycle.adding import scheduler_for
from localhb.format.edit import Edit, MoveToCompleted, apply_edits
from localhb.format.model import Diagnostic, Section, Task, TaskKind
from localhb.format.parser import Document, parse
from localhb.state import idle
from localhb.state.files import Snapshot, read_heartbeat, write_atomic
from localhb.timing.plan import (
    History,
    Outcome,
    Policy,
    Work,
    WorkKind,
    earliest_due,
    edits_for,
    plan,
)
from localhb.timing.schedule import is_active, next_active, window_end

if TYPE_CHECKING:
    from localhb.config import Config
    from localhb.core.results import TraceSink
    from localhb.state.ledger import Ledger

log = logging.getLogger("localhb")

WRITE_TRIES = 5
STATUSES = frozenset({"ok", "partial", "skipped", "error"})


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class TaskLine:
    """One finished piece of work, as the cycle reports it."""

    task_id: str
    status: str
    summary: str
    kind: str = "task"


@dataclass(frozen=True, slots=True)
class CycleReport:
    """What a cycle did. `outcome`: idle | ran | inactive | locked | dry-run."""

    outcome: str
    message: str = ""
    results: tuple[TaskLine, ...] = ()
    planned: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    diagnostics: tuple[Diagnostic, ...] = ()
    next_wake: datetime | None = None

    @property
    def failed(self) -> bool:
        return any(r.status == "error" for r in self.results)


@dataclass(frozen=True, slots=True)
class BudgetEvent:
    """A `[budget]` cap stopped model work: a run `skipped` before it started, or one
    `stopped` partway. `first_today` is True for the day's first such event, the one
    that is notified (one notice per budget day)."""

    task_id: str
    action: str  # skipped | stopped
    reason: str
    at: datetime
    first_today: bool


class BudgetObserver(Protocol):
    """Told of every budget event; must not raise."""

    def __call__(self, event: BudgetEvent, /) -> None: ...


def log_budget(event: BudgetEvent) -> None:
    """The default observer: a warning in the log for the day's first event."""
    if event.first_today:
        log.warning("budget: %s %s: %s", event.task_id, event.action, event.reason)


@dataclass
class _Finished:
    work: Work
    outcome: Outcome
    started: datetime
    finished: datetime
    failures: int


@dataclass
class Runner:
    """Runs heartbeat cycles for one configuration.

    `clock` gives the current aware time; `env` is the environment the agent
    sees (API keys); `on_event` receives live trace events from the agent.
    Setting `stopping` makes a running cycle start no further work: what is
    running finishes and is recorded, what has not started stays due.
    """

    config: Config
    clock: Callable[[], datetime] = utc_now
    env: Mapping[str, str] | None = None
    on_event: TraceSink | None = None
    pid: int = field(default_factory=os.getpid)
    stopping: threading.Event = field(default_factory=threading.Event)
    on_budget: BudgetObserver = log_budget
    _budget_lines: list[TaskLine] = field(default_factory=list, repr=False)

    # -- the cycle ---------------------------------------------------------------
    def cycle(self, *, now: datetime | None = None, dry_run: bool = False) -> CycleReport:
        cfg = self.config
        hb = cfg.heartbeat
        tz = cfg.tz()
        now = now or self.clock()
        if not is_active(now, hb.active_hours, tz):
            opens = next_active(now, hb.active_hours, tz)
            assert hb.active_hours is not None
            window = f"{_hm(hb.active_hours.start)}-{_hm(hb.active_hours.end)}"
            message = (
                f"outside active hours ({window} {getattr(tz, 'key', tz)}); "
                f"next window opens {opens.astimezone(tz):%Y-%m-%d %H:%M}"
            )
            if not dry_run:
                self._record_skip("inactive_hours", now, message)
            return CycleReport("inactive", message, next_wake=opens)

        from filelock import FileLock, Timeout

        cfg.home.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(cfg.home / "heartbeat.lock"))
        try:
            lock.acquire(timeout=0)
        except Timeout:
            message = "another heartbeat cycle is running; skipped"
            if not dry_run:
                self._record_skip("lock_held", now, message)
            return CycleReport("locked", message)
        try:
            return self._locked_cycle(now, dry_run)
        finally:
            lock.release()

    def _locked_cycle(self, now: datetime, dry_run: bool) -> CycleReport:
        cfg = self.config
        hb = cfg.heartbeat
        tz = cfg.tz()
        snap = read_heartbeat(hb.file)
        doc = parse(
            snap.text,
            pending_sections=hb.pending_sections,
            completed_sections=hb.completed_sections,
        )
        if doc.errors:
            if not dry_run:
                self._record_cycle(now, "error", f"{len(doc.errors)} error(s) in {hb.file}")
            raise HeartbeatFileError(
                "has errors, so nothing was run and the file was not changed "
                "(`localhb validate` shows them)",
                path=hb.file,
                diagnostics=doc.errors,
            )
        policy = self.policy()
        if dry_run:
            history = self._read_history()
            work, _ = plan(doc, now, tz, policy, history)
            planned = tuple(_describe(w, tz) for w in work)
            return CycleReport("dry-run" if work else "idle", planned=planned)

        from localhb.state.ledger import Ledger

        with Ledger.open(cfg.state_db) as ledger:
            for run in ledger.abandon_stale(now):
                log.warning("abandoned stale run %s of %s (slot %s)", run.id, run.task_id, run.slot)
            pending_ids = {t.id for t in doc.pending()}
            ledger.see_tasks(sorted(pending_ids), now)
            ledger.retire([tid for tid in ledger.snapshots() if tid not in pending_ids])
            history = _history(ledger)
            work, skips = plan(doc, now, tz, policy, history)
            for s in skips:
                ledger.record_skip(s.reason, now)
            if not work:
                ledger.record_cycle(now, now, "idle", "")
                self._remember_idle(snap, doc, now, history)
                return CycleReport("idle")
        idle.forget(str(cfg.home))
        self._budget_lines.clear()
        finished = self._execute(work)
        warnings, moved = self._write(snap, doc, finished)
        lines = tuple(
            TaskLine(
                f.work.task.id,
                f.outcome.status,
                f.outcome.summary,
                "check" if f.outcome.checked_only else "task",
            )
            for f in finished
        ) + tuple(self._budget_lines)
        with Ledger.open(cfg.state_db) as ledger:
            ledger.retire(moved)  # finished: the same title written again is a new task
            detail = ", ".join(f"{x.task_id}: {x.status}" for x in lines)
            ledger.record_cycle(now, self.clock(), "ran", detail)
        for w in warnings:
            log.warning("%s", w)
        return CycleReport("ran", results=lines, warnings=tuple(warnings))

    def _remember_idle(
        self, snap: Snapshot, doc: Document, now: datetime, history: Mapping[str, History]
    ) -> None:
        """Let the next idle cycle answer from `idle.cache` (see localhb.state.idle)."""
        from localhb import __version__

        cfg = self.config
        tz = cfg.tz()
        idle.write(
            str(cfg.home),
            version=__version__,
            config=os.path.abspath(cfg.path) if cfg.path else None,
            config_bytes=cfg.source_bytes or b"",
            file=os.path.abspath(cfg.heartbeat.file),
            file_bytes=snap.text.encode("utf-8"),
            zone=getattr(tz, "key", None),
            system_zone_used=cfg.heartbeat.timezone is None,
            written_at=now,
            due_at=earliest_due(doc, now, tz, self.policy(), history),
            active_until=window_end(now, cfg.heartbeat.active_hours, tz),
        )

    def policy(self) -> Policy:
        return Policy.of(self.config.heartbeat)

    # -- execution ---------------------------------------------------------------
    def _execute(self, work: list[Work]) -> list[_Finished]:
        """Run the work, one thread per task (slots of one task in order)."""
        from localhb.agent import loop as agent
        from localhb.agent.prompting import system_prompt

        # Problems of configuration surface before any run is claimed, so they
        # never use up a task's attempts. Work that needs no model (`Run:` tasks,
        # `Check:` gates) needs no key and no client: it sends no request.
        client: Any = None
        if any(w.task.uses_model for w in work):
            system_prompt(self.config.llm, source=self.config.path)
            client = agent.connect(self.config.llm, self._env())
        groups: dict[str, list[Work]] = {}
        for w in work:
            groups.setdefault(w.task.id, []).append(w)
        results: list[_Finished] = []
        lock = threading.Lock()

        def job(items: list[Work]) -> None:
            for w in items:
                if self.stopping.is_set():
                    return
                try:
                    done = self._run_one(w, client)
                except Exception:  # the ledger or the disk failed: log, keep the others
                    log.exception("%s: could not run or record slot %s", w.task.id, w.slot)
                    continue
                if done is not None:
                    with lock:
                        results.append(done)

        try:
            workers = max(1, min(self.config.heartbeat.max_concurrent, len(groups)))
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="task") as pool:
                for f in [pool.submit(job, items) for items in groups.values()]:
                    f.result()
        finally:
            if client is not None:
                client.close()
        order = {id(w): i for i, w in enumerate(work)}
        return sorted(results, key=lambda f: order.get(id(f.work), 0))

    def _run_one(self, w: Work, client: Any) -> _Finished | None:
        """Claim, run and record one piece of work; never raises."""
        from localhb.state.ledger import Ledger

        cfg = self.config
        # Longer than any run can last: the agent stops at task_timeout, at most one
        # tool call late. Past it, another cycle may declare the run abandoned.
        lease = 2 * cfg.agent.task_timeout + cfg.tools.shell.timeout + cfg.tools.http.timeout
        attempt = w.task.attempts + 1 if w.task.kind is TaskKind.ONE_TIME else 1
        if w.kind is WorkKind.TASK and w.task.uses_model:
            reason = self._budget_block()
            if reason is not None:  # not claimed: the slot stays due for a later cycle
                self._budget_skip(w.task, reason)
                return None
        with Ledger.open(cfg.state_db) as ledger:
            run = ledger.claim(
                w.task.id, w.slot, w.kind.value, self.clock(), lease, self.pid, attempt=attempt
            )
            if run is None:
                ended = ledger.finished_run(w.task.id, w.slot, w.kind.value, attempt)
                if ended is not None and w.kind is WorkKind.TASK:
                    # It ran, but the file never heard (a crash, or an edit conflict):
                    # record that result now rather than running the task twice.
                    log.warning("%s: recording run %s in the file", w.task.id, ended.id)
                    status = ended.state if ended.state in STATUSES else "error"
                    outcome = Outcome(w.task.id, status, ended.summary or "(no summary)")
                    started = ended.started_at
                    done = ended.completed_at or started
                    snap = ledger.snapshot(w.task.id)
                    failures = snap.consecutive_failures if snap else 0
                    return _Finished(w, outcome, started, done, failures)
                ledger.record_skip("overlap", self.clock())
                log.info("%s: slot %s is being run elsewhere; skipped", w.task.id, w.slot)
                return None
        started = self.clock()
        gate: dict[str, Any] = {}
        if w.kind is WorkKind.TASK and w.task.check is not None:  # a gated recurring task
            stop, gate = self._code_check(w.task)
            if stop is not None:
                failures = self._finish(run, w.task, stop, started, gate, check=True)
                return _Finished(w, stop, started, self.clock(), failures)
        if w.kind is WorkKind.CHECK:
            outcome, result = self._check(w.task, client)
            failures = self._finish(run, w.task, outcome, started, result, check=True)
            if outcome.checked_only:
                return _Finished(w, outcome, started, self.clock(), failures)
            if w.task.run is None:
                reason = self._budget_block()
                if reason is not None:
                    self._budget_skip(w.task, reason)
                    skip = Outcome(w.task.id, "skipped", reason, checked_only=True, detail="budget")
                    return _Finished(w, skip, started, self.clock(), failures)
            with Ledger.open(cfg.state_db) as ledger:
                run = ledger.claim(
                    w.task.id, w.slot, WorkKind.TASK.value, self.clock(), lease, self.pid
                )
            if run is None:
                return None
            started = self.clock()
        outcome, result = self._task(w.task, client)
        if "fingerprint" in gate:  # what a met `file ... changed` check saw
            result = {**result, "fingerprint": gate["fingerprint"]}
        failures = self._finish(run, w.task, outcome, started, result, check=False)
        return _Finished(w, outcome, started, self.clock(), failures)

    def _task(self, task: Task, client: Any) -> tuple[Outcome, dict[str, Any]]:
        from localhb.agent import loop as agent
        from localhb.agent.commands import run_command_task

        try:
            if task.run is not None:
                r = run_command_task(
                    task, self.config, on_event=self.on_event, env=self._env(), now=self.clock
                )
            else:
                r = agent.run_task(
                    task,
                    self.config,
                    client=client,
                    scheduler=scheduler_for(self.config, task, self.clock),
                    guard=self._guard(),
                    **self._agent_options(),
                )
                if r.stats.failure is not None and r.stats.failure.value == "budget":
                    self._budget_event(task, "stopped", r.summary)
        except Exception as exc:  # panic recovery: a crashing task is that task's error
            return self._crash(task, exc)
        return Outcome(task.id, r.status.value, r.summary), r.to_dict()

    def _code_check(self, task: Task) -> tuple[Outcome | None, dict[str, Any]]:
        """Evaluate `task.check` (0 tokens): (None, data) when met, else the outcome."""
        from localhb.agent.commands import evaluate_check

        v = evaluate_check(
            task,
            self.config,
            env=self._env(),
            previous=self._last_fingerprint(task.id),
            on_event=self.on_event,
        )
        data = v.to_dict()
        if v.error is not None:
            return Outcome(task.id, "error", v.error, checked_only=True, detail="error"), data
        if not v.met:
            summary = f"check not met: {v.evidence}" if v.evidence else "check not met"
            return Outcome(task.id, "skipped", summary, checked_only=True, detail="not met"), data
        return None, data

    def _last_fingerprint(self, task_id: str) -> str | None:
        """The file state the task's last `file ... changed` check recorded."""
        import json

        from localhb.state.ledger import Ledger

        with Ledger.open(self.config.state_db) as ledger:
            for row in ledger.runs(task_id, limit=20):
                try:
                    data = json.loads(row.result_json or "{}")
                except ValueError:
                    continue
                if isinstance(data, dict) and isinstance(data.get("fingerprint"), str):
                    return str(data["fingerprint"])
        return None

    def _check(self, task: Task, client: Any) -> tuple[Outcome, dict[str, Any]]:
        from localhb.agent import loop as agent

        if task.check is not None:
            stop, data = self._code_check(task)
            if stop is not None:
                return stop, data
            if task.condition is None:
                return Outcome(task.id, "ok", f"check met: {data['evidence']}"), data
        reason = self._budget_block()
        if reason is not None:
            self._budget_skip(task, reason)
            return Outcome(task.id, "skipped", reason, checked_only=True, detail="budget"), {}
        try:
            c = agent.check_condition(task, self.config, client=client, **self._agent_options())
        except Exception as exc:
            outcome, data = self._crash(task, exc)
            return Outcome(task.id, "error", outcome.summary, checked_only=True), data
        if c.error is not None:
            return Outcome(
                task.id, "error", c.error, checked_only=True, detail="error"
            ), c.to_dict()
        if not c.met:
            summary = f"condition not met: {c.evidence}" if c.evidence else "condition not met"
            outcome = Outcome(task.id, "skipped", summary, checked_only=True, detail="not met")
            return outcome, c.to_dict()
        return Outcome(task.id, "ok", f"condition met: {c.evidence}"), c.to_dict()

    # -- budget ----------------------------------------------------------------
    def _budget_block(self) -> str | None:
        """Why no model run may start now ([budget] caps against today's spend), or None."""
        if not self.config.budget.capped:
            return None
        from localhb.state.budget import read_spend
        from localhb.state.ledger import Ledger

        with Ledger.open(self.config.state_db) as ledger:
            return read_spend(ledger, self.config, self.clock()).block_reason()

    def _guard(self) -> Any:
        """What stops a run that crosses a daily cap, given today's spend so far."""
        if not self.config.budget.capped:
            return None
        from localhb.state.budget import RunGuard, read_spend
        from localhb.state.ledger import Ledger

        with Ledger.open(self.config.state_db) as ledger:
            today = read_spend(ledger, self.config, self.clock()).today
        price = self.config.budget.price(self.config.llm.model)
        return RunGuard(self.config.budget, today.tokens, today.cost, price)

    def _budget_skip(self, task: Task, reason: str) -> None:
        from localhb.state.ledger import Ledger

        with Ledger.open(self.config.state_db) as ledger:
            ledger.record_skip("budget", self.clock())
        self._budget_lines.append(TaskLine(task.id, "skipped", f"budget: {reason}", "budget"))
        log.info("%s: skipped: budget: %s", task.id, reason)
        self._budget_event(task, "skipped", reason)

    def _budget_event(self, task: Task, action: str, reason: str) -> None:
        from localhb.state.budget import first_notice_today

        now = self.clock()
        try:
            first = first_notice_today(
                self.config.home, now.astimezone(self.config.budget_tz()).date()
            )
        except OSError as exc:
            log.error("could not record the budget notice: %s", exc)
            first = True
        try:
            self.on_budget(BudgetEvent(task.id, action, reason, now, first))
        except Exception:  # an observer must never break the cycle
            log.exception("budget observer failed")

    def _agent_options(self) -> dict[str, Any]:
        from localhb.agent.loop import Clock

        return {
            "on_event": self.on_event,
            "clock": Clock(now=self.clock),
            "env": self._env(),
            "heartbeat_file": self.config.heartbeat.file,
        }

    def _crash(self, task: Task, exc: BaseException) -> tuple[Outcome, dict[str, Any]]:
        from localhb.core.redact import Redactor

        redact = Redactor.from_env(self._env(), extra_names=[self.config.llm.api_key_env])
        tb = redact("".join(traceback.format_exception(exc)))
        log.error("task %s crashed:\n%s", task.id, tb)
        summary = redact(f"crashed: {type(exc).__name__}: {exc}")
        return Outcome(task.id, "error", summary), {"error": summary, "traceback": tb}

    def _finish(
        self,
        run: Any,
        task: Task,
        outcome: Outcome,
        started: datetime,
        result: Mapping[str, Any],
        *,
        check: bool,
    ) -> int:
        """Record the run's end in the ledger, a health file and the memory log."""
        from localhb.state.health import record_from_result, write_health
        from localhb.state.ledger import Ledger

        cfg = self.config
        done = self.clock()
        with Ledger.open(cfg.state_db) as ledger:
            try:
                ledger.finish(run, outcome.status, done, dict(result, summary=outcome.summary))
            except LedgerError as exc:  # e.g. abandoned meanwhile by another cycle's cleanup
                log.error("could not record the end of %s: %s", task.id, exc)
            snap = ledger.snapshot(task.id)
        failures = snap.consecutive_failures if snap is not None else 0
        if not check or outcome.checked_only:  # a met condition's run writes its own
            try:
                write_health(
                    cfg.health_dir,
                    record_from_result(
                        task.id, outcome.status, outcome.summary, started, done, result
                    ),
                )
            except (OSError, ValueError) as exc:
                log.error("could not write the health file for %s: %s", task.id, exc)
        log.info(
            "%s%s: %s - %s", task.id, " (check)" if check else "", outcome.status, outcome.summary
        )
        if not check:
            self._memory_line(task, outcome, done)
        return failures

    def _memory_line(self, task: Task, outcome: Outcome, when: datetime) -> None:
        """A finished task adds a line to the workspace's daily memory log."""
        from localhb.agent.tools.memory import append_entry, format_entry

        local = when.astimezone(self.config.tz())
        path = self.config.agent.workspace / "memory" / f"{local:%Y-%m-%d}.md"
        try:
            entry = format_entry(local, task.id, f"{outcome.status} - {outcome.summary}")
            append_entry(path, local, entry)
        except OSError as exc:
            log.error("could not append to %s: %s", path, exc)

    # -- writing the file ----------------------------------------------------------
    def _write(
        self, snap: Snapshot, doc: Document, finished: list[_Finished]
    ) -> tuple[list[str], list[str]]:
        """Apply every outcome's edits to the file as it is now, atomically.

        Returns warnings, and the ids of the tasks that were moved to Completed.
        """
        tz = self.config.tz()
        policy = self.policy()
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
        path = self.config.heartbeat.file
        hb = self.config.heartbeat
        for _ in range(WRITE_TRIES):
            current = read_heartbeat(path)
            base = doc
            keep = edits
            if not current.same_as(snap):
                base = parse(
                    current.text,
                    pending_sections=hb.pending_sections,
                    completed_sections=hb.completed_sections,
                )
                keep, dropped = _rebase(doc, base, edits)
                warnings += [
                    f"{tid}: removed or renamed in HEARTBEAT.md while it ran; the file was not "
                    f"updated for it (its result is in `localhb runs`)"
                    for tid in dropped
                ]
            text = apply_edits(base, keep)
            if read_heartbeat(path).same_as(current):
                if text != current.text:
                    write_atomic(path, text)
                moved = [e.task_id for e in keep if isinstance(e, MoveToCompleted)]
                return warnings, moved
            snap, doc = current, base  # edited again meanwhile: start over from it
        warnings.append("HEARTBEAT.md kept changing; the run results were not written to it")
        return warnings, []

    # -- helpers -------------------------------------------------------------------
    def _env(self) -> Mapping[str, str]:
        return os.environ if self.env is None else self.env

    def _read_history(self) -> dict[str, History]:
        return read_history(self.config)

    def _record_skip(self, reason: str, now: datetime, message: str) -> None:
        from localhb.state.ledger import Ledger

        with Ledger.open(self.config.state_db) as ledger:
            ledger.record_skip(reason, now)
            ledger.record_cycle(now, now, "skipped", message)
        log.info("cycle skipped: %s", message)

    def _record_cycle(self, now: datetime, outcome: str, detail: str) -> None:
        from localhb.state.ledger import Ledger

        with Ledger.open(self.config.state_db) as ledger:
            ledger.record_cycle(now, self.clock(), outcome, detail)


def read_history(config: Config) -> dict[str, History]:
    """What the ledger remembers of each task; empty when there is no ledger yet."""
    if not config.state_db.exists():
        return {}
    from localhb.state.ledger import Ledger

    with Ledger.open(config.state_db) as ledger:
        return _history(ledger)


def _history(ledger: Ledger) -> dict[str, History]:
    return {
        tid: History(s.first_seen, s.last_slot_at, s.consecutive_failures)
        for tid, s in ledger.snapshots().items()
    }


def _rebase(old: Document, new: Document, edits: list[Edit]) -> tuple[list[Edit], list[str]]:
    """Keep the edits whose task the new text still has, by identity, in Pending.

    A task deleted or renamed meanwhile is not brought back (its result stays
    in the ledger); a task edited in place gets its result on its new text.
    """
    dropped: list[str] = []
    keep: list[Edit] = []
    verdict: dict[str, bool] = {}
    for e in edits:
        if e.task_id not in verdict:
            after = new.task(e.task_id)
            verdict[e.task_id] = (
                old.task(e.task_id) is not None
                and after is not None
                and after.section is Section.PENDING
                and not after.problem
            )
            if not verdict[e.task_id]:
                dropped.append(e.task_id)
        if verdict[e.task_id]:
            keep.append(e)
    return keep, dropped


def _describe(w: Work, tz: Any) -> str:
    verb = "check" if w.kind is WorkKind.CHECK else "run"
    slot = w.slot.astimezone(tz)
    return f"would {verb} {w.task.id} (slot {slot:%Y-%m-%d %H:%M}; {w.evaluation.reason})"


def _hm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"
