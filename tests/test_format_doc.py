"""The examples in docs/heartbeat-format.md are golden fixtures."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from localhb.format.edit import Edit, MoveToCompleted, SetField
from localhb.format.parser import parse

DOC = Path(__file__).resolve().parents[1] / "docs" / "heartbeat-format.md"
BLOCK = re.compile(
    r"<!-- (?P<kind>fixture|tasks|edits|after): (?P<name>[\w-]+) -->\n"
    r"(?P<fence>`{3,})\w*\n(?P<body>.*?)\n(?P=fence)\n",
    re.S,
)


def blocks() -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = {}
    for m in BLOCK.finditer(DOC.read_text(encoding="utf-8")):
        found.setdefault(m["name"], {})[m["kind"]] = m["body"] + "\n"
    return found


FIXTURES = blocks()


def test_doc_has_fixtures() -> None:
    """The format page carries its examples as fixtures."""
    assert len(FIXTURES) >= 5
    assert all("fixture" in v for v in FIXTURES.values())


@pytest.mark.parametrize("name", [n for n, v in FIXTURES.items() if "tasks" in v])
def test_documented_tasks(name: str) -> None:
    """Each example parses to exactly the tasks the page lists, without errors."""
    doc = parse(FIXTURES[name]["fixture"])
    got = [f"{t.id} | {t.kind.value} | {t.schedule_text}" for t in doc.pending()]
    assert got == FIXTURES[name]["tasks"].strip().splitlines()
    assert not doc.errors


def _edit(raw: dict[str, str]) -> Edit:
    if raw["op"] == "move":
        return MoveToCompleted(raw["task"])
    return SetField(raw["task"], raw["key"], raw["value"])


@pytest.mark.parametrize("name", [n for n, v in FIXTURES.items() if "edits" in v])
def test_documented_edits(name: str) -> None:
    """Each documented edit turns the example into exactly the 'after' text."""
    from localhb.format.edit import apply_edits

    edits = [_edit(e) for e in json.loads(FIXTURES[name]["edits"])]
    assert apply_edits(parse(FIXTURES[name]["fixture"]), edits) == FIXTURES[name]["after"]
