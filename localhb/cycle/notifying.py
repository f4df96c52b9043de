"""The notifications observer: run events in, pings and messages out (localhb.notify).

    RunStarted     ping `<url>/start`
    RunFinished    ping `<url>` or `<url>/fail`; decide and record the messages of a
                   run that ends a piece of work; a "task paused" alert
    CycleFinished  the "HEARTBEAT.md is invalid", "task overdue" and "endpoint down" (the
                   circuit breaker opening or closing) alerts; then wait (bounded) for
                   sends and pings, and stop
    BudgetEvent    the day's first one: a "budget cap reached" alert to `[notify] default`

Messages are rows of the delivery ledger sent by a background worker, so a
slow target never holds up a run; with no `[notify.targets]` nothing is
opened at all. `close()` ends it where there is no cycle (`localhb run`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING, Any

from localhb.core.results import Status
from localhb.cycle.events import BudgetEvent, CycleFinished, Event, RunFinished, RunStarted
from localhb.format.model import Task, TaskKind
from localhb.format.notify import DEFAULT, Mode, NotifySetting, SettingError, parse_setting
from localhb.state.records import Trigger

if TYPE_CHECKING:
    from localhb.config import Config
    from localhb.notify.delivery import Worker
    from localhb.notify.pings import Pinger, Post
    from localhb.notify.send import Sender
    from localhb.state.deliveries import DeliveryLog, NewDelivery

log = logging.getLogger("localhb")

FILE_ALERT = "alert:file"
BUDGET_ALERT = "alert:budget"
ENDPOINT_ALERT = "alert:endpoint"
CLOSE_WAIT = 30.0  # seconds a cycle's end waits for sends and pings


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class NotifyObserver:
    """One per cycle (or manual run). `send`/`post`/`clock`/`sleep` are for tests."""

    config: Config
    tz: tzinfo
    env: Mapping[str, str] | None = None
    clock: Callable[[], datetime] = _utc_now
    send: Sender | None = None
    post: Post | None = None
    sleep: Callable[[float], None] | None = None
    wait: float = CLOSE_WAIT
    _log: DeliveryLog | None = field(default=None, init=False)
    _worker: Worker | None = field(default=None, init=False)
    _pinger: Pinger | None = field(default=None, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def __call__(self, event: Event, /) -> None:
        if isinstance(event, RunStarted):
            self._ping(event.task, "start", "")
        elif isinstance(event, RunFinished):
            self._finished(event)
        elif isinstance(event, BudgetEvent):
            self._budget(event)
        elif isinstance(event, CycleFinished):
            try:
                self._cycle(event)
            finally:
                self.close()

    # -- pings --
    def _ping(self, task: Task, event: str, body: str) -> None:
        from localhb.notify.pings import Ping, ping_url, url_for

        own = task.field("ping")
        url = url_for(own.value if own else None, self.config.notify.ping_url_template, task.id)
        if url is None:
            return
        with self._lock:
            if self._pinger is None:
                from localhb.notify.pings import Pinger, httpx_post

                timeout = self.config.notify.timeout.total_seconds()
                self._pinger = Pinger(timeout, self.post or httpx_post)
        self._pinger.send(Ping(ping_url(url, event), body))

    # -- messages --
    def _finished(self, event: RunFinished) -> None:
        from localhb.notify.pings import event_for

        status = event.outcome.status
        if event.final or status == Status.ERROR:
            self._ping(
                event.task,
                "fail" if event_for(status) == "fail" else "success",
                event.outcome.summary,
            )
        if not event.final or not self.config.notify.targets:
            return  # a met condition's check: the task's own run tells
        result = event.end.result or {}
        if result.get("failure") == "setup" and event.trigger is Trigger.SCHEDULE:
            return  # the endpoint or config is wrong: the breaker's one alert tells (_breaker)
        from localhb.notify.policy import RunFacts, decide, targets_of

        setting = self._setting(event.task)
        message = result.get("message") if isinstance(result.get("message"), str) else ""
        facts = RunFacts(
            key=event.task.id,
            title=event.task.title,
            status=status,
            summary=event.outcome.summary,
            message=str(message or ""),
            at=event.finished,
            run_id=event.run_id,
        )
        dlog = self._open()
        rows = decide(
            facts, setting, self.config.notify, dlog.last_delivered, self.tz, self._redact()
        )
        paused = self._paused_alert(event, setting, targets_of(setting, self.config.notify))
        self._add([*rows, *paused], event.finished)

    def _paused_alert(
        self, event: RunFinished, setting: NotifySetting, targets: tuple[str, ...]
    ) -> list[NewDelivery]:
        """`alert:paused:<task>`: on when a recurring task is paused, off when it next runs ok."""
        if event.task.kind is not TaskKind.RECURRING or setting.mode is Mode.NEVER:
            return []
        from localhb.notify.policy import decide_alert

        limit = self.config.heartbeat.max_consecutive_failures
        n = event.consecutive_failures
        status = event.outcome.status
        if status == Status.ERROR and n > 0 and n % limit == 0:
            active = True
        elif status == Status.OK:
            active = False
        else:
            return []
        text = (
            f"paused after {n} failures in a row (last: {event.outcome.summary}); delete its "
            "`Paused:` line in HEARTBEAT.md to resume"
            if active
            else "runs again"
        )
        return decide_alert(
            f"alert:paused:{event.task.id}",
            f"{event.task.title} paused",
            text,
            active,
            targets,
            self.config.notify,
            self._open().last_delivered,
            event.finished,
            self.tz,
        )

    def _budget(self, event: BudgetEvent) -> None:
        """`alert:budget`: once per budget day, for the day's first skip or stop."""
        if not event.first_today or not self.config.notify.targets:
            return
        from localhb.notify.policy import decide_alert

        day = event.day or event.at.astimezone(self.tz).date()
        what = "skipped" if event.action == "skipped" else "stopped partway"
        text = (
            f"{event.reason}; {event.task_id} {what}. No model run starts until the next "
            f"budget day (after {day.isoformat()}); Run: tasks and Check: gates go on. "
            "See `localhb usage`."
        )
        targets = tuple(n for n in self.config.notify.default if self.config.notify.url(n))
        rows = decide_alert(
            BUDGET_ALERT,
            "localhb budget",
            text,
            True,
            targets,
            self.config.notify,
            self._open().last_delivered,
            event.at,
            self.tz,
        )
        self._add(rows, event.at)

    def _cycle(self, event: CycleFinished) -> None:
        if not self.config.notify.targets:
            return
        from localhb.notify.policy import decide_alert

        invalid = event.report.outcome == "error"
        if not invalid and self._log is None and not self.config.state_db.exists():
            return
        dlog = self._open()
        targets = tuple(n for n in self.config.notify.default if self.config.notify.url(n))
        rows = decide_alert(
            FILE_ALERT,
            "HEARTBEAT.md invalid" if invalid else "HEARTBEAT.md",
            event.report.message if invalid else "valid again; tasks run",
            invalid,
            targets,
            self.config.notify,
            dlog.last_delivered,
            event.finished,
            self.tz,
        )
        if event.report.outcome in ("idle", "ran"):
            rows += self._overdue(dlog, event.finished)
        rows += self._breaker(event, targets)
        self._add(rows, event.finished)
        if self._worker is not None:
            return
        if dlog.next_due() is not None:  # retries left by an earlier cycle
            self._ensure_worker().kick()

    def _breaker(self, event: CycleFinished, targets: tuple[str, ...]) -> list[NewDelivery]:
        """`alert:endpoint`: once when the endpoint breaker opens, resolved once when it closes."""
        report = event.report
        if report.breaker_change not in ("opened", "closed"):
            return []
        from localhb.notify.policy import decide_alert

        opened = report.breaker_change == "opened"
        if opened and report.breaker is not None:
            b = report.breaker
            who = f" ({b.tripped_by})" if b.tripped_by else ""
            text = (
                f"the model endpoint cannot be used{who}: {self._redact()(b.reason)}. Agent "
                "tasks wait and are tried again with backoff; Run: tasks and Check: gates go "
                "on. `localhb doctor` checks the endpoint."
            )
        else:
            text = "the model endpoint answers again; agent tasks run"
        return decide_alert(
            ENDPOINT_ALERT,
            "localhb endpoint down" if opened else "localhb endpoint",
            text,
            opened,
            targets,
            self.config.notify,
            self._open().last_delivered,
            event.finished,
            self.tz,
        )

    def _overdue(self, dlog: DeliveryLog, now: datetime) -> list[NewDelivery]:
        """`alert:overdue:<task>` for each recurring task `localhb health` would call
        overdue; resolved when it no longer is."""
        from localhb.core.errors import LocalhbError
        from localhb.format.parser import parse
        from localhb.notify.policy import decide_alert, targets_of
        from localhb.state.files import read_heartbeat
        from localhb.state.health import assess
        from localhb.state.ledger import Ledger

        cfg = self.config
        try:
            text = read_heartbeat(cfg.heartbeat.file).text
            with Ledger.open(cfg.state_db) as ledger:
                snaps = ledger.snapshots()
        except (LocalhbError, OSError) as exc:
            log.warning("overdue alerts not checked: %s", exc)
            return []
        hb = cfg.heartbeat
        doc = parse(
            text, pending_sections=hb.pending_sections, completed_sections=hb.completed_sections
        )
        known = {k: (s.first_seen, s.last_run_at) for k, s in snaps.items()}
        rows = assess(
            {}, doc.tasks, now, self.tz, cycle=hb.interval, active=hb.active_hours, known=known
        )
        out: list[NewDelivery] = []
        late: set[str] = set()
        for r in rows:
            task = doc.task(r.task_id)
            if not r.overdue or task is None or r.due_by is None:
                continue
            setting = self._setting(task)
            if setting.mode is Mode.NEVER:
                continue
            key = f"alert:overdue:{task.id}"
            late.add(key)
            since = r.last_at.astimezone(self.tz).strftime("%Y-%m-%d %H:%M") if r.last_at else None
            text = (
                f"no run since {since}" if since else "it has never run"
            ) + f"; expected by {r.due_by.astimezone(self.tz):%Y-%m-%d %H:%M}"
            targets = targets_of(setting, cfg.notify)
            out += decide_alert(
                key,
                f"{task.title} overdue",
                text,
                True,
                targets,
                cfg.notify,
                dlog.last_delivered,
                now,
                self.tz,
            )
        for key, target in dlog.open_problems("alert:overdue:"):
            if key not in late:
                task_id = key.removeprefix("alert:overdue:")
                task = doc.task(task_id)
                title = f"{task.title if task else task_id} overdue"
                out += decide_alert(
                    key,
                    title,
                    "runs again",
                    False,
                    (target,),
                    cfg.notify,
                    dlog.last_delivered,
                    now,
                    self.tz,
                )
        return out

    def _setting(self, task: Task) -> NotifySetting:
        from localhb.format.notify import check_targets

        own = task.field("notify")
        try:
            setting = parse_setting(own.value if own else None)
        except SettingError as exc:
            log.warning("%s: Notify: %s; notifying as configured", task.id, exc)
            return DEFAULT
        problem = check_targets(setting, self.config.notify.names)
        if problem:
            log.warning("%s: Notify: %s; left out", task.id, problem)
        return setting

    def _add(self, rows: list[NewDelivery], at: datetime) -> None:
        if not rows:
            return
        self._open().add(rows, at)
        if any(r.status == "pending" for r in rows):
            self._ensure_worker().kick()

    def _open(self) -> DeliveryLog:
        with self._lock:
            if self._log is None:
                from localhb.state.deliveries import DeliveryLog

                self._log = DeliveryLog.open(self.config.state_db)
            return self._log

    def _ensure_worker(self) -> Worker:
        from localhb.notify.delivery import Deliverer, Worker

        dlog = self._open()
        with self._lock:
            if self._worker is None:
                kwargs: dict[str, Any] = {"env": self.env, "redact": self._redact()}
                if self.send is not None:
                    kwargs["send"] = self.send
                if self.sleep is not None:
                    kwargs["sleep"] = self.sleep
                deliverer = Deliverer(dlog, self.config.notify, clock=self.clock, **kwargs)
                deliverer.recover()
                self._worker = Worker(deliverer)
            return self._worker

    def _redact(self) -> Callable[[str], str]:
        import os

        from localhb.core.redact import Redactor

        env = os.environ if self.env is None else self.env
        return Redactor.from_env(env, extra_names=[self.config.llm.api_key_env])

    def close(self) -> None:
        """Wait (at most `wait` seconds) for sends and pings, then stop; idempotent."""
        with self._lock:
            worker, pinger, dlog = self._worker, self._pinger, self._log
            self._worker = self._pinger = self._log = None
        if worker is not None:
            worker.close(self.wait)
        if pinger is not None:
            pinger.close(self.wait)
        if dlog is not None:
            dlog.close()
