"""The `Workspace`: one workspace's world, built once per cycle or command.

    Workspace.load(config, store)   read and parse HEARTBEAT.md (with the
                                    configured sections), resolve the zone once,
                                    the schedule's policy, the store's history
    ws.plan(now) / ws.judge(task, now) / ws.earliest_due(now) / ws.upcoming(now)
    ws.parse(text)                  the same parser settings for a re-read

Every caller that needs "the file as the next cycle would see it" (the runner,
the daemon's wake times, `daemon status`, `tasks`, `run`, `health`) builds
one of these instead of assembling the pieces by hand.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING

from localhb.format.parser import Document, parse
from localhb.state.files import Snapshot, read_heartbeat
from localhb.timing.hours import window_notes
from localhb.timing.plan import History, Policy, Skip, Work, earliest_due, judge, plan
from localhb.timing.schedule import Evaluation
from localhb.timing.wake import Upcoming, upcoming

if TYPE_CHECKING:
    from localhb.config import Config
    from localhb.format.model import Task
    from localhb.state.store import Store

__all__ = ["Workspace"]


@dataclass(frozen=True, slots=True)
class Workspace:
    """A config, its zone and policy, the file as read and parsed, and the history."""

    config: Config
    tz: tzinfo
    policy: Policy
    file: Path
    snapshot: Snapshot
    doc: Document
    history: Mapping[str, History]

    @classmethod
    def load(
        cls,
        config: Config,
        store: Store | None = None,
        *,
        file: Path | None = None,
        tz: tzinfo | None = None,
    ) -> Workspace:
        """Read and parse the file (default `[heartbeat] file`); history from `store`
        (none without one). Raises HeartbeatFileError when the file cannot be read."""
        path = file or config.heartbeat.file
        snap = read_heartbeat(path)
        return cls(
            config=config,
            tz=tz if tz is not None else config.tz(),
            policy=Policy.of(config.heartbeat),
            file=path,
            snapshot=snap,
            doc=_parse(config, snap.text),
            history=store.history() if store is not None else {},
        )

    def with_history(self, store: Store) -> Workspace:
        """The same file with the store's history as it is now."""
        return replace(self, history=store.history())

    def parse(self, text: str) -> Document:
        """`text` parsed with this config's section names."""
        return _parse(self.config, text)

    def judge(self, task: Task, now: datetime) -> Evaluation:
        return judge(task, now, self.tz, self.policy, self.history.get(task.id, History()))

    def plan(self, now: datetime) -> tuple[list[Work], list[Skip]]:
        return plan(self.doc, now, self.tz, self.policy, self.history)

    def earliest_due(self, now: datetime) -> datetime | None:
        return earliest_due(self.doc, now, self.tz, self.policy, self.history)

    def upcoming(self, now: datetime) -> list[Upcoming]:
        active = self.config.heartbeat.active_hours
        return upcoming(self.doc, now, self.tz, self.policy, self.history, active)


def _parse(config: Config, text: str) -> Document:
    hb = config.heartbeat
    doc = parse(
        text,
        pending_sections=hb.pending_sections,
        completed_sections=hb.completed_sections,
        tool_names=[s.name for s in config.mcp.servers],
    )
    return window_notes(doc, hb.active_hours)
