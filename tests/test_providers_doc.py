"""docs/providers.md's wire-quirk table and the tests it names stay in step."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "providers.md"
CITED = re.compile(r"`(test_\w+\.py)::(test_\w+)`")


def quirk_rows() -> list[str]:
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## Wire quirks", 1)[1].split("\n## ", 1)[0]
    return [line for line in section.splitlines() if line.startswith("| ") and "`test_" in line]


def cited() -> set[tuple[str, str]]:
    return {(f, t) for row in quirk_rows() for f, t in CITED.findall(row)}


def test_every_quirk_row_names_a_test_that_exists() -> None:
    """Each row of the table names at least one test, and each named test is defined."""
    rows = quirk_rows()
    assert len(rows) >= 20
    for row in rows:
        assert CITED.search(row.rsplit("|", 2)[1]), row
    for module, name in sorted(cited()):
        source = (ROOT / "tests" / module).read_text(encoding="utf-8")
        assert re.search(rf"^def {name}\(", source, re.M), f"{module}::{name} is not a test"


def test_every_quirk_test_is_in_the_table() -> None:
    """A new test in test_agent_quirks.py needs its row in docs/providers.md."""
    source = (ROOT / "tests" / "test_agent_quirks.py").read_text(encoding="utf-8")
    defined = set(re.findall(r"^def (test_\w+)\(", source, re.M))
    named = {t for f, t in cited() if f == "test_agent_quirks.py"}
    assert defined - named == set()


def test_the_servers_the_issue_names_are_all_there() -> None:
    """llama.cpp, Ollama, vLLM, DeepSeek and Mistral each have a quirk of their own."""
    seen = " ".join(row.split("|")[2] for row in quirk_rows())
    for server in ("llama.cpp", "Ollama", "vLLM", "DeepSeek", "Mistral"):
        assert server in seen, server
