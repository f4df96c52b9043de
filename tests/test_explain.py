"""format.explain: `validate --explain` in words, one row per section, task and problem."""

from __future__ import annotations

from localhb.format.explain import explain
from localhb.format.parser import parse

FILE = """# My tasks
## Pending
### Water Plants
- Recurring: daily at 09:00
- Run: ./water.sh
- Model: no
### Tidy Notes
- Due: 2024-01-15 13:00
- Priority: high
### Merge When Green
- Condition: CI is green
### Broken
- Due: someday maybe
## Ideas
- [ ] not read
## Completed
- [x] Old Thing
"""


def rows(lines: list[str]) -> dict[int, str]:
    """Line number -> the words on that row (continuation rows joined)."""
    out: dict[int, str] = {}
    last = 0
    for line in lines[1:]:
        head = line[:5].strip()
        if head.isdigit():
            last = int(head)
            out[last] = line
        elif last and line.startswith(" " * 20):
            out[last] += " " + line.strip()
        else:
            last = 0
    return out


def test_every_section_and_task_is_explained_on_its_own_line() -> None:
    doc = parse(FILE)
    lines = explain(doc, "HEARTBEAT.md")
    assert lines[0] == "HEARTBEAT.md: how localhb reads this file"
    by_line = rows(lines)
    assert "title (not a section localhb reads)" in by_line[1]
    assert "Pending section: tasks here run when due" in by_line[2]
    assert "recurring task 'water-plants' (heading)" in by_line[3]
    assert "runs `./water.sh`" in by_line[3]
    assert "never uses the model (0 tokens)" in by_line[3]
    assert "priority high" in by_line[7]
    assert "uses the model (tokens)" in by_line[7]
    assert "conditional task 'merge-when-green' (heading): when: CI is green" in by_line[10]
    assert "ignored section (not a Pending or Completed name)" in by_line[14]
    assert "Completed section: history, never run" in by_line[16]
    assert "done: 'old-thing'" in by_line[17]


def test_a_broken_task_is_marked_skipped_with_its_diagnostic() -> None:
    doc = parse(FILE)
    by_line = rows(explain(doc, "HEARTBEAT.md"))
    assert "one-time task 'broken' (heading)" in by_line[12]
    assert by_line[12].endswith("-- SKIPPED, see below")
    assert "error: Due: cannot read 'someday maybe' as a date" in by_line[13]
    assert "hint: write `YYYY-MM-DD HH:MM`" in by_line[13]


def test_the_summary_counts_what_may_run() -> None:
    doc = parse(FILE)
    lines = explain(doc, "HEARTBEAT.md")
    summary = next(line for line in lines if line.startswith("summary: "))
    assert summary.startswith(
        "summary: 3 task(s) localhb may run (1 one-time, 1 recurring, 1 conditional); "
        "2 use the model, 1 never do (0 tokens); 1 skipped or done;"
    )
    sections = next(line for line in lines if line.startswith("sections that count"))
    assert "as Pending: pending" in sections and "as Completed: completed" in sections
    assert lines[-1] == "code blocks, HTML comments and quotes are never read as tasks"


def test_long_source_lines_are_shortened_to_the_column() -> None:
    title = "A" * 80
    doc = parse(f"## Pending\n### {title}\n- Due: 2024-01-15 13:00\n")
    row = rows(explain(doc, "f.md"))[2]
    assert "…" in row
    assert title not in row


def test_a_file_level_diagnostic_comes_first() -> None:
    """A diagnostic with no line (line 0) is shown under the heading, not as a row."""
    doc = parse("no sections at all\n")
    assert [d.line for d in doc.diagnostics] == [0]
    lines = explain(doc, "f.md")
    assert lines[1] == "  file: warning: no Pending section: nothing in this file will run"
    assert lines[2].startswith("        hint: tasks go under a section named `## Pending`")
    assert lines[3] == ""
    assert lines[4].startswith("summary: 0 task(s)")
    assert lines[4].endswith("0 error(s), 1 warning(s)")


def test_each_problem_is_listed_under_its_own_task() -> None:
    doc = parse("## Pending\n- [ ] a\n## Pending\n- [ ] a\n")
    lines = explain(doc, "f.md")
    errors = [line for line in lines if "error: two tasks have the id 'a' (lines 2, 4)" in line]
    assert len(errors) == 2
    assert lines.index(errors[0]) < next(i for i, x in enumerate(lines) if x.startswith("    3"))
