"""Routines: distill and audit as ordinary tasks; run_history, memory_rewrite, the audit gate."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import tomli_w

from localhb.agent.tools.memory import search
from localhb.agent.tools.paths import PathPolicy
from localhb.cli import main
from localhb.config import load_config
from localhb.cycle.history_view import history_reader, new_failures_for
from localhb.format.checks import CheckKind, parse_check
from localhb.format.parser import parse
from localhb.state.files import read_heartbeat
from localhb.state.history import HistoryQuery, history_report
from localhb.state.records import RunEnd
from localhb.state.store import Store, memory_store, open_store
from tests.scripted_llm import ScriptedLLM, make_context

BERLIN = ZoneInfo("Europe/Berlin")
EMPTY = "# Tasks\n\n## Pending\n\n## Completed\n"


def make_home(tmp_path: Path, server: ScriptedLLM | None = None, text: str = EMPTY) -> Path:
    home = tmp_path / "home"
    (home / "workspace").mkdir(parents=True)
    (home / "workspace" / "HEARTBEAT.md").write_text(text)
    config: dict[str, Any] = {"heartbeat": {"timezone": "Europe/Berlin"}}
    if server is not None:
        config["llm"] = {"base_url": server.base_url, "model": "m", "max_retries": 0}
    (home / "config.toml").write_text(tomli_w.dumps(config))
    return home


def heartbeat(home: Path) -> str:
    return (home / "workspace" / "HEARTBEAT.md").read_text()


def seed_failure(
    store: Store, task: str, at: datetime, *, tool: str = "run_command", detail: str = ""
) -> None:
    run = store.claim(task, at, "task", at, timedelta(minutes=5), 1)
    assert run is not None
    calls = [{"name": tool, "outcome": "error", "detail": detail or "exit 1: disk full"}]
    data = {"summary": "failed", "error": "the command failed", "tool_calls": calls}
    end = replace(RunEnd.from_result("error", data, summary="failed"), result_json=json.dumps(data))
    store.finish(run, end, at + timedelta(minutes=1))


def seed_ok(store: Store, task: str, at: datetime) -> None:
    run = store.claim(task, at, "task", at, timedelta(minutes=5), 1)
    assert run is not None
    store.finish(run, RunEnd.from_result("ok", {"summary": "fine"}), at + timedelta(minutes=1))


# --- routines list / add --------------------------------------------------------------


def test_routines_list_names_both(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`routines list` shows distill and audit with their default schedules."""
    home = make_home(tmp_path)
    assert main(["--home", str(home), "routines", "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["name"], r["schedule"]) for r in rows] == [
        ("distill", "daily at 02:00"),
        ("audit", "hourly"),
    ]
    assert all(r["in_file_as"] is None for r in rows)


def test_routines_add_appends_a_valid_task(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`routines add` appends the routine's task under Pending; it validates and is listed."""
    home = make_home(tmp_path)
    assert main(["--home", str(home), "routines", "add", "distill"]) == 0
    assert main(["--home", str(home), "routines", "add", "audit"]) == 0
    out = capsys.readouterr().out
    assert "### Memory distillation" in out and "next run:" in out
    doc = parse(heartbeat(home))
    assert not doc.errors
    distill, audit = doc.pending()
    assert distill.schedule_text == "daily at 02:00" and distill.tools == (
        "files",
        "memory",
        "distill",
    )
    assert audit.tools == ("history",)
    assert audit.check is not None and audit.check.kind is CheckKind.NEW_FAILURES
    assert heartbeat(home).endswith("## Completed\n")
    assert main(["--home", str(home), "tasks"]) == 0
    listed = capsys.readouterr().out
    assert "memory-distillation" in listed and "self-audit" in listed


def test_routines_add_twice_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A routine already in the file (even renamed) is refused with a hint; the file is kept."""
    home = make_home(tmp_path)
    assert main(["--home", str(home), "routines", "add", "audit"]) == 0
    path = home / "workspace" / "HEARTBEAT.md"
    path.write_text(heartbeat(home).replace("### Self-audit", "### My audit"))
    before = heartbeat(home)
    capsys.readouterr()
    assert main(["--home", str(home), "routines", "add", "audit"]) == 2
    err = capsys.readouterr().err
    assert "already in the file as task 'my-audit'" in err
    assert heartbeat(home) == before


def test_routines_add_at_and_unknown(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`--at` replaces the schedule (checked); an unknown name lists the known ones."""
    home = make_home(tmp_path)
    assert main(["--home", str(home), "routines", "add", "distill", "--at", "daily at 03:30"]) == 0
    assert "- Recurring: daily at 03:30" in heartbeat(home)
    before = heartbeat(home)
    assert main(["--home", str(home), "routines", "add", "audit", "--at", "every blue moon"]) == 2
    assert main(["--home", str(home), "routines", "add", "tidy"]) == 2
    err = capsys.readouterr().err
    assert "--at:" in err and "the routines are: distill, audit" in err
    assert heartbeat(home) == before


def test_routines_add_keeps_a_concurrent_hand_edit(tmp_path: Path) -> None:
    """A hand edit that lands while the routine is being added is kept (compare-and-swap)."""
    from localhb.cycle.adding import add_task
    from localhb.cycle.routines import AUDIT

    home = make_home(tmp_path)
    config = load_config(None, home=home)
    path = config.heartbeat.file
    edited = []

    def read_then_edit(p: Path) -> Any:
        snap = read_heartbeat(p)
        if not edited:
            edited.append(True)
            p.write_text(p.read_text().replace("# Tasks", "# Tasks, edited by hand"))
        return snap

    add_task(config, AUDIT.new_task(), datetime.now(UTC), read=read_then_edit)
    text = path.read_text()
    assert "# Tasks, edited by hand" in text and "### Self-audit" in text
    assert not parse(text).errors


# --- the audit gate -------------------------------------------------------------------


def test_check_new_failures_parses() -> None:
    """`Check: new failures` (and its longer form) is the ledger gate."""
    assert parse_check("new failures").kind is CheckKind.NEW_FAILURES
    assert parse_check("New failures since last run").kind is CheckKind.NEW_FAILURES
    assert parse_check("new-failures.sh").kind is CheckKind.COMMAND


def test_new_failures_counts_since_the_audits_last_run() -> None:
    """Failures of other tasks after the audit's last model run count; its own do not."""
    store = memory_store()
    t0 = datetime(2026, 3, 1, 3, 0, tzinfo=UTC)
    count = new_failures_for(store, "self-audit")
    assert count() == 0
    seed_failure(store, "backup", t0)
    assert count() == 1
    seed_ok(store, "self-audit", t0 + timedelta(hours=1))
    assert count() == 0
    seed_failure(store, "self-audit", t0 + timedelta(hours=2))
    assert count() == 0
    seed_failure(store, "backup", t0 + timedelta(hours=3))
    assert count() == 1


AUDIT_FILE = """## Pending

### Self-audit
- Recurring: hourly
- Routine: audit
- Tools: history
- Check: new failures
- Description: audit

## Completed
"""


def test_audit_spends_no_tokens_when_nothing_failed(
    tmp_path: Path, server: ScriptedLLM, capsys: pytest.CaptureFixture[str]
) -> None:
    """With no new failure in the ledger the audit is skipped by code: 0 model requests."""
    home = make_home(tmp_path, server, AUDIT_FILE)
    config = load_config(None, home=home)
    with open_store(config) as store:
        seed_ok(store, "backup", datetime(2030, 1, 10, 9, 0, tzinfo=UTC))
    code = main(["--home", str(home), "daemon", "heartbeat", "--now", "2030-01-10 10:05"])
    assert code == 0, capsys.readouterr().err
    assert server.requests == []
    with open_store(config) as store:
        (row,) = store.runs("self-audit")
    assert row.status == "not met"
    assert "no new failures" in (row.summary or "")


def test_audit_names_three_nightly_failures(
    tmp_path: Path, server: ScriptedLLM, capsys: pytest.CaptureFixture[str]
) -> None:
    """After a task failed three nights running, the audit runs and run_history names it."""
    home = make_home(tmp_path, server, AUDIT_FILE)
    config = load_config(None, home=home)
    with open_store(config) as store:
        for day in (7, 8, 9):
            at = datetime(2030, 1, day, 2, 0, tzinfo=UTC)  # 03:00 in Berlin
            seed_failure(store, "nightly-backup", at, detail="exit 1: No space left on device")
    message = "nightly-backup failed at 03:00 three nights running: disk full"
    server.call("run_history", {"hours": 96}).complete(
        "partial", "nightly backup keeps failing", message=message
    )
    code = main(["--home", str(home), "daemon", "heartbeat", "--now", "2030-01-10 10:05"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "self-audit: partial - nightly backup keeps failing" in out
    assert len(server.requests) == 2
    tools = [t["function"]["name"] for t in server.requests[0].body["tools"]]
    assert "run_history" in tools and "memory_rewrite" not in tools
    answer = next(m for m in server.requests[1].messages if m.get("role") == "tool")["content"]
    assert "task nightly-backup failed at 03:xx on 3 days" in answer
    assert "tool run_command failed the same way in 3 runs" in answer
    with open_store(config) as store:
        latest = store.runs("self-audit")[0]
    assert latest.status == "partial"


# --- run_history ----------------------------------------------------------------------


def test_history_report_bounds_and_redacts() -> None:
    """The report keeps to its window and limit, clips fields and passes through redaction."""
    store = memory_store()
    now = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    seed_failure(store, "old", now - timedelta(days=3))
    for i in range(8):
        seed_failure(store, "api", now - timedelta(hours=i + 1), detail="x" * 1000 + " sk-secret")
    text = history_report(
        store.runs(None, limit=100),
        now=now,
        tz=BERLIN,
        query=HistoryQuery(window=timedelta(hours=24), limit=5),
        redact=lambda s: s.replace("sk-secret", "[REDACTED]"),
    )
    report = json.loads(text)
    assert len(report["runs"]) == 5 and report["runs_left_out"] == 3
    assert all(r["task"] == "api" for r in report["runs"])
    assert report["counts"] == {"error": 8}
    detail = report["runs"][0]["failed_tool_calls"][0]["detail"]
    assert len(detail) <= 240
    assert "sk-secret" not in text
    capped = HistoryQuery(window=timedelta(days=400), limit=10_000).bounded()
    assert capped.window == timedelta(days=14) and capped.limit == 200


def test_history_reader_through_the_store() -> None:
    """The tool's reader reports from the store, with skip counts and the last cycle."""
    store = memory_store()
    now = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    seed_failure(store, "api", now - timedelta(hours=2))
    store.record_skip("budget", now)
    read = history_reader(store, lambda: now, lambda s: s)
    report = json.loads(read({"hours": 24, "limit": 10, "tz": BERLIN}))
    assert report["skips"] == {"budget": 1}
    assert report["consecutive_failures"] == {"api": 1}
    only = json.loads(read({"hours": 24, "task": "nope", "tz": BERLIN}))
    assert only["runs"] == []


# --- distill --------------------------------------------------------------------------

DISTILL_FILE = """## Pending

### Memory distillation
- Recurring: daily at 02:00
- Routine: distill
- Tools: files, memory, distill
- Description: distil

### Water the plants
- Recurring: daily at 11:00
- Description: check the plants

## Completed
"""


def test_distill_rewrites_memory_keeps_backup_and_logs(
    tmp_path: Path, server: ScriptedLLM, capsys: pytest.CaptureFixture[str]
) -> None:
    """memory_rewrite replaces MEMORY.md, keeps a dated backup, leaves the daily logs."""
    home = make_home(tmp_path, server, DISTILL_FILE)
    ws = home / "workspace"
    (ws / "MEMORY.md").write_text("# Memory\n- old fact\n")
    (ws / "memory").mkdir()
    log = ws / "memory" / "2030-01-09.md"
    log.write_text("# 2030-01-09\n- 10:00 water-the-plants: the plants needed water\n")
    facts = "# Facts\n- The plants need water every day (seen 2030-01-09).\n"
    server.call("memory_rewrite", {"text": facts}).complete("ok", "distilled 1 fact")
    code = main(["--home", str(home), "daemon", "heartbeat", "--now", "2030-01-10 02:05"])
    assert code == 0, capsys.readouterr().err
    assert (ws / "MEMORY.md").read_text() == facts
    (backup,) = (ws / "memory" / "backups").iterdir()
    assert backup.name == "MEMORY-2030-01-10-0205.md"
    assert backup.read_text() == "# Memory\n- old fact\n"
    assert log.read_text().startswith("# 2030-01-09\n- 10:00 water-the-plants")
    # The next task's memory snippets come from the distilled facts first.
    server.complete("ok", "watered")
    code = main(["--home", str(home), "daemon", "heartbeat", "--now", "2030-01-10 11:05"])
    assert code == 0, capsys.readouterr().err
    prompt = json.dumps(server.requests[-1].messages)
    assert prompt.index("MEMORY.md:") < prompt.index("memory/2030-01-09.md:")


def test_memory_rewrite_redacts_and_refuses_empty(tmp_path: Path) -> None:
    """Facts never carry a secret; an empty rewrite leaves MEMORY.md alone."""
    from localhb.agent.tools.registry import task_toolbox

    home = make_home(tmp_path)
    config = load_config(None, home=home)
    ws = config.agent.workspace
    (ws / "MEMORY.md").write_text("keep\n")
    ctx = replace(
        make_context(config, now=datetime(2030, 1, 1, 2, 0, tzinfo=UTC)),
        redact=lambda s: s.replace("hunter2", "[REDACTED:PASSWORD]"),
    )
    box = task_toolbox(config.tools, ("distill",))
    empty = box.call("memory_rewrite", json.dumps({"text": "  "}), ctx)
    assert not empty.ok and (ws / "MEMORY.md").read_text() == "keep\n"
    done = box.call("memory_rewrite", json.dumps({"text": "- password is hunter2"}), ctx)
    assert done.ok, done.content
    assert (ws / "MEMORY.md").read_text() == "- password is [REDACTED:PASSWORD]\n"
    again = box.call("memory_rewrite", json.dumps({"text": "- newer"}), ctx)
    assert again.ok
    names = sorted(p.name for p in (ws / "memory" / "backups").iterdir())
    assert names == ["MEMORY-2030-01-01-0300-2.md", "MEMORY-2030-01-01-0300.md"]


def test_facts_first_snippets(tmp_path: Path) -> None:
    """With facts_first, MEMORY.md hits come before daily-log hits, which fill the rest."""
    ws = tmp_path / "ws"
    (ws / "memory").mkdir(parents=True)
    (ws / "memory" / "2030-01-01.md").write_text("- plants plants plants watered\n")
    (ws / "MEMORY.md").write_text("- plants need water\n")
    paths = PathPolicy.build(ws, ())
    hits = search(paths, "plants water", 2, facts_first=True)
    assert [h.path for h in hits] == ["MEMORY.md", "memory/2030-01-01.md"]


def test_history_reader_lists_failed_deliveries(tmp_path: Path) -> None:
    """A notification that could not be delivered shows in the report, with its error."""
    from localhb.state.deliveries import DeliveryLog, NewDelivery

    home = make_home(tmp_path)
    config = load_config(None, home=home)
    now = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    with open_store(config) as store:
        seed_failure(store, "api", now - timedelta(hours=1))
    with DeliveryLog.open(config.state_db) as log:
        (did,) = log.add(
            [NewDelivery("api", "phone", "result", "error", "sig", "pending", "api: error", "b")],
            now - timedelta(minutes=30),
        )
        assert log.claim(did, now - timedelta(minutes=30), 1) is not None
        log.attempt_failed(did, now - timedelta(minutes=29), "HTTP 500 from receiver", None)
    with open_store(config) as store:
        report = json.loads(history_reader(store, lambda: now, str)({"tz": BERLIN}))
    (failed,) = report["failed_deliveries"]
    assert failed["target"] == "phone" and "HTTP 500" in failed["error"]
