"""docs/tutorial.md is run: every `sh` block, in order, in one fresh HOME, against the
scripted model server and a real HTTP receiver; the `text` block under a command block
is what it printed (in order; `...` is anything, digits may differ)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.receivers import HTTPReceiver, http_receiver
from tests.scripted_llm import ScriptedLLM, scripted_llm

__all__ = ["scripted_llm"]

ROOT = Path(__file__).resolve().parents[1]
TUTORIAL = ROOT / "docs" / "tutorial.md"
ENDPOINT = "http://localhost:11434/v1"
TARGET = "ntfy://ntfy.sh/localhb-tutorial-CHANGE-ME"
NOT_RUN = "<!-- not run: "
FENCE = re.compile(r"^```(\w*)\n(.*?)^```\n", re.M | re.S)


@dataclass(frozen=True, slots=True)
class Block:
    line: int
    code: str
    expected: tuple[str, ...]
    run: bool


def blocks(text: str) -> list[Block]:
    """The `sh` blocks of a page, each with the `text` block that follows it, if any."""
    found = list(FENCE.finditer(text))
    out: list[Block] = []
    for i, m in enumerate(found):
        if m.group(1) != "sh":
            continue
        expected: tuple[str, ...] = ()
        nxt = found[i + 1] if i + 1 < len(found) else None
        if nxt is not None and nxt.group(1) == "text" and not text[m.end() : nxt.start()].strip():
            expected = tuple(ln for ln in nxt.group(2).splitlines() if ln.strip())
        before = text[: m.start()].rstrip().splitlines()
        run = not (before and before[-1].startswith(NOT_RUN))
        out.append(Block(text.count("\n", 0, m.start()) + 1, m.group(2), expected, run))
    return out


def pattern(line: str) -> re.Pattern[str]:
    """An expected output line as a regex: `...` is anything, a run of digits any digits."""
    parts = [re.sub(r"\d+", r"\\d+", re.escape(p)) for p in line.strip().split("...")]
    return re.compile(".*".join(parts))


def unmatched(expected: tuple[str, ...], output: str) -> str | None:
    """The first expected line not found, in order, among the output's lines."""
    lines = output.splitlines()
    at = 0
    for want in expected:
        if want.strip() == "...":
            continue
        rx = pattern(want)
        while at < len(lines) and not rx.search(lines[at]):
            at += 1
        if at == len(lines):
            return want
        at += 1
    return None


@pytest.fixture
def receiver() -> Iterator[HTTPReceiver]:
    with http_receiver() as rec:
        yield rec


def test_the_tutorial_runs_as_written(
    tmp_path: Path, scripted_llm: ScriptedLLM, receiver: HTTPReceiver
) -> None:
    """Each command of docs/tutorial.md succeeds and prints what the page shows."""
    text = TUTORIAL.read_text(encoding="utf-8")
    assert ENDPOINT in text and TARGET in text
    steps = blocks(text)
    assert sum(b.run for b in steps) >= 10
    for b in steps:
        if not b.run:
            assert "localhb" in b.code  # skipped blocks still teach localhb
    llm = scripted_llm
    llm.models = ["qwen2.5:7b"]
    llm.call("report_word", {"word": "pong"})  # doctor's tool-call probe
    for _ in range(2):  # `localhb run`, then the cycle's run
        llm.call("write_file", {"path": "notes.md", "content": "The heartbeat log has one date.\n"})
        llm.complete("ok", "wrote notes.md")
    home = tmp_path / "user"
    home.mkdir()
    bindir = str(Path(sys.executable).parent)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "LOCALHB_"))} | {
        "HOME": str(home),
        "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    env["COLUMNS"] = "120"
    try:
        for b in steps:
            if not b.run:
                continue
            code = b.code.replace(ENDPOINT, llm.base_url).replace(
                TARGET, f"json://{receiver.base}/hook"
            )
            done = subprocess.run(
                ["bash", "-c", code],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            output = done.stdout + done.stderr
            where = f"docs/tutorial.md:{b.line}"
            assert done.returncode == 0, f"{where} exit {done.returncode}:\n{output}"
            missing = unmatched(b.expected, output)
            assert missing is None, f"{where}: {missing!r} not in:\n{output}"
    finally:
        subprocess.run(
            ["bash", "-c", "localhb daemon stop"], env=env, capture_output=True, timeout=60
        )
    workspace = home / ".localhb" / "workspace"
    assert (workspace / "notes.md").read_text() == "The heartbeat log has one date.\n"
    titles = [r.json()["title"] for r in receiver.requests if r.path == "/hook"]
    assert any("Backup check" in t and "error" in t for t in titles), titles
    assert len(llm.requests) == 5  # the probe and two runs of two steps: nothing more


def test_block_reader() -> None:
    """The reader pairs a command block with the output block right under it."""
    page = "x\n```sh\necho hi\n```\n\n```text\nhi ...\n```\n<!-- not run: why -->\n```sh\nx\n```\n"
    first, second = blocks(page)
    assert (first.code, first.expected, first.run) == ("echo hi\n", ("hi ...",), True)
    assert second.run is False
    assert unmatched(("a 1", "c"), "a 22\nb\nc\n") is None
    assert unmatched(("c", "a 1"), "a 22\nb\nc\n") == "a 1"
