"""memory_search (FTS5 and its fallback) and memory_append (safe from many processes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from localhb.agent.tools import PathPolicy, task_toolbox
from localhb.agent.tools.memory import chunks, search
from localhb.config import Config
from tests.scripted_llm import make_config, make_context

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def config(tmp_path: Path) -> Config:
    config = make_config(tmp_path, "http://127.0.0.1:9/v1", heartbeat={"timezone": "Europe/Berlin"})
    ws = config.agent.workspace
    (ws / "MEMORY.md").write_text(
        "# Long-term memory\n\n"
        "The backup server is nas.local; backups run nightly.\n\n"
        "## People\n"
        "Alice owns the deployment pipeline.\n"
    )
    (ws / "memory").mkdir()
    (ws / "memory" / "2025-01-14.md").write_text(
        "# Memory 2025-01-14\n\n- 09:00 [backup] Backup failed: disk full on nas.local\n"
    )
    (ws / "memory" / "notes.txt").write_text("backup backup backup\n")  # not *.md
    return config


@pytest.mark.parametrize("use_fts", [True, False], ids=["fts5", "fallback"])
def test_search_ranks_and_cites(config: Config, use_fts: bool) -> None:
    """Hits come best first with file:line; both rankers agree on what matters."""
    paths = PathPolicy.build(config.agent.workspace)
    hits = search(paths, "backup failed", 5, use_fts=use_fts)
    assert [h.cite for h in hits] == ["memory/2025-01-14.md:3", "MEMORY.md:3"]
    assert hits[0].text == "- 09:00 [backup] Backup failed: disk full on nas.local"
    assert search(paths, "deploy", 5, use_fts=use_fts)[0].cite == "MEMORY.md:5"
    assert search(paths, "zebra", 5, use_fts=use_fts) == []
    assert search(paths, "the of", 5, use_fts=use_fts) == []  # stop words only


def test_search_skips_links_out_of_the_workspace(config: Config, tmp_path: Path) -> None:
    """A memory file that links outside the workspace is not read."""
    secret = tmp_path / "secret.md"
    secret.write_text("backup password is swordfish\n")
    (config.agent.workspace / "memory" / "leak.md").symlink_to(secret)
    hits = search(PathPolicy.build(config.agent.workspace), "swordfish", 5)
    assert hits == []


def test_chunks_split_at_blank_lines_and_headings() -> None:
    """Chunks start at the right line and stay a few lines long."""
    text = "# T\nintro\n\npara one\npara two\n## H\n" + "".join(f"l{n}\n" for n in range(8))
    assert list(chunks(text)) == [
        (1, "# T\nintro"),
        (4, "para one\npara two"),
        (6, "## H\nl0\nl1\nl2\nl3\nl4"),
        (12, "l5\nl6\nl7"),
    ]


def test_memory_search_tool(config: Config) -> None:
    """The tool lists hits as `file:line: text`."""
    ctx = make_context(config)
    outcome = task_toolbox(config.tools).call("memory_search", '{"query": "Alice"}', ctx)
    assert outcome.content == "MEMORY.md:5: ## People / Alice owns the deployment pipeline."


def test_memory_append_tool(config: Config) -> None:
    """An entry lands in today's file (local date), timestamped and tagged with the task."""
    late = datetime(2025, 1, 15, 23, 30, tzinfo=UTC)  # already the 16th in Berlin
    ctx = make_context(config, now=late, task_id="nightly")
    box = task_toolbox(config.tools)
    outcome = box.call("memory_append", json.dumps({"text": "Disk cleaned.\nFreed 20 GB."}), ctx)
    assert outcome.content == "appended to memory/2025-01-16.md"
    day = config.agent.workspace / "memory" / "2025-01-16.md"
    assert day.read_text() == (
        "# Memory 2025-01-16\n\n- 00:30 [nightly] Disk cleaned.\n  Freed 20 GB.\n"
    )
    box.call("memory_append", '{"text": "Second."}', ctx)
    assert day.read_text().endswith("- 00:30 [nightly] Second.\n")
    assert box.call("memory_append", '{"text": "  "}', ctx).content == "error: text is empty"


def test_append_after_a_hand_edit_without_newline(config: Config) -> None:
    """An entry never joins the last line of a file someone saved without a newline."""
    day = config.agent.workspace / "memory" / "2025-01-15.md"
    day.write_text("# Memory\n\nhand written")
    ctx = make_context(config, now=datetime(2025, 1, 15, 9, 0, tzinfo=UTC))
    task_toolbox(config.tools).call("memory_append", '{"text": "auto"}', ctx)
    assert day.read_text() == "# Memory\n\nhand written\n- 10:00 [tidy-notes] auto\n"


WRITER = """
import sys
from datetime import datetime, timezone
from pathlib import Path
from localhb.agent.tools.memory import append_entry, format_entry

path, worker, count = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
when = datetime(2025, 1, 15, 12, 0, tzinfo=timezone.utc)
print("ready", flush=True)
sys.stdin.readline()  # wait for the others: every writer starts at once
for n in range(count):
    text = f"worker {worker} entry {n} " + worker * 3000
    append_entry(path, when, format_entry(when, f"w{worker}", text))
"""


def test_append_from_many_processes(tmp_path: Path) -> None:
    """Entries appended by several processes at once all arrive whole, one heading."""
    path = tmp_path / "memory" / "2025-01-15.md"
    workers, count = 6, 100
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), str(w), str(count)],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for w in range(workers)
    ]
    for proc in procs:
        assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.close()
    assert [p.wait(timeout=60) for p in procs] == [0] * workers
    for proc in procs:
        assert proc.stdout is not None
        proc.stdout.close()
    lines = path.read_text().splitlines()
    assert lines[:2] == ["# Memory 2025-01-15", ""]
    entries = lines[2:]
    expected = [
        f"- 12:00 [w{w}] worker {w} entry {n} {str(w) * 3000}"
        for w in range(workers)
        for n in range(count)
    ]
    assert sorted(entries) == sorted(expected)  # every entry whole, none torn or mixed
    for w in range(workers):  # and each writer's entries in the order written
        mine = [e for e in entries if e.startswith(f"- 12:00 [w{w}]")]
        assert mine == [e for e in expected if e.startswith(f"- 12:00 [w{w}]")]
