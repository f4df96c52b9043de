"""The parser: sections, tasks, fields, diagnostics and byte-exact rendering."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from localhb.format.model import Form, Priority, Section, Severity, TaskKind
from localhb.format.parser import parse, section_name, slug

SEED = """# Heartbeat Tasks

## Pending

### Check CI Status
- Priority: high
- Due: 2024-01-15 14:00
- Description: Check if the CI pipeline passed for PR #42

### Daily Summary
- Recurring: daily at 18:00
- Description: Summarize today's work and update MEMORY.md

### Merge PR When Tests Pass
- Condition: CI status is green for PR #42
- Description: Merge the PR and delete the branch

## Completed

### Review Documentation
- Completed: 2024-01-14 16:30
- Notes: Updated README with new API endpoints
"""


def test_seed_document_tasks() -> None:
    """The documented example yields its three pending tasks and one completed."""
    doc = parse(SEED)
    kinds = {t.id: (t.kind, t.section) for t in doc.tasks}
    assert kinds == {
        "check-ci-status": (TaskKind.ONE_TIME, Section.PENDING),
        "daily-summary": (TaskKind.RECURRING, Section.PENDING),
        "merge-pr-when-tests-pass": (TaskKind.CONDITIONAL, Section.PENDING),
        "review-documentation": (TaskKind.ONE_TIME, Section.COMPLETED),
    }
    ci = doc.task("check-ci-status")
    assert ci is not None
    assert ci.priority is Priority.HIGH
    assert ci.due == datetime(2024, 1, 15, 14, 0)
    assert ci.line == 5
    assert ci.text.startswith("### Check CI Status\n- Priority: high")
    assert ci.text.endswith("PR #42\n")
    assert not doc.errors


@pytest.mark.parametrize(
    "text",
    [
        SEED,
        SEED.replace("\n", "\r\n"),
        "\ufeff" + SEED,
        SEED.rstrip("\n"),
        "\t- tab\n## Pending\n### T\n\t- Due: 2024-01-01\n",
        "",
        "\n\n\n",
        "no newline",
        "a\rb\rc",
        "## Pending\n```\n## Pending\n### Not a task\n```\n",
        "## Pending 🚀\n### 检查 日报 ✅\n- Due: 2024-01-01\n",
    ],
)
def test_unchanged_document_renders_identically(text: str) -> None:
    """An unchanged document renders back byte for byte."""
    assert parse(text).render() == text


def test_crlf_and_bom_do_not_change_reading() -> None:
    """CRLF endings and a BOM give the same tasks as the plain file."""
    plain = parse(SEED)
    other = parse("\ufeff" + SEED.replace("\n", "\r\n"))
    assert [(t.id, t.kind, t.line) for t in other.tasks] == [
        (t.id, t.kind, t.line) for t in plain.tasks
    ]
    assert other.newline == "\r\n"


def test_fenced_pending_is_not_a_section() -> None:
    """`## Pending` inside a code fence neither opens a section nor makes tasks."""
    doc = parse("# Notes\n```markdown\n## Pending\n### Fake\n- Due: 2024-01-01\n```\n")
    assert doc.tasks == ()
    assert not any(s.role for s in doc.sections)


def test_comment_examples_are_not_tasks() -> None:
    """Tasks inside an HTML comment under Pending are never read."""
    doc = parse("## Pending\n<!--\n### Example\n- Due: 2024-01-01\n- [ ] box\n-->\n")
    assert doc.tasks == ()
    assert any("example" in d.message for d in doc.diagnostics)


def test_quote_and_indented_code_are_not_tasks() -> None:
    """Block quotes and indented code under Pending hold no tasks."""
    doc = parse("## Pending\n\n> - [ ] quoted\n\n    - [ ] code\n")
    assert doc.tasks == ()


def test_checkbox_tasks_and_nested_fields() -> None:
    """Checkboxes directly under Pending are tasks; nested bullets are their fields."""
    doc = parse(
        "## Active Tasks\n- [ ] Send report\n- [x] Done thing\n"
        "* [ ] Backup (every 4 hours)\n  - Priority: high\n  - Notes: nested\n"
    )
    tasks = doc.pending()
    assert [t.id for t in tasks] == ["send-report", "done-thing", "backup"]
    assert [t.checked for t in tasks] == [False, True, False]
    assert all(t.form is Form.CHECKBOX for t in tasks)
    backup = tasks[2]
    assert backup.kind is TaskKind.RECURRING
    assert backup.priority is Priority.HIGH
    assert backup.recurrence is not None and backup.recurrence.interval == timedelta(hours=4)
    assert backup.style.indent == "  "


def test_checkbox_after_heading_task_belongs_to_it() -> None:
    """A checkbox under a task heading is part of that task, and --explain says so."""
    doc = parse("## Pending\n### Plan\n- [ ] step one\n- [ ] step two\n")
    assert [t.id for t in doc.tasks] == ["plan"]
    assert "step one" in doc.tasks[0].text
    notes = [d for d in doc.diagnostics if d.severity is Severity.NOTE]
    assert notes and notes[0].line == 3 and "belong to the task above" in notes[0].message


def test_plain_bullets_under_pending_are_notes() -> None:
    """A plain bullet under Pending is not a task, and --explain says so."""
    doc = parse("## Pending\n- Check the inbox every day\n")
    assert doc.tasks == ()
    assert any(d.severity is Severity.NOTE and "plain bullet" in d.message for d in doc.diagnostics)


@pytest.mark.parametrize(
    ("line", "key", "value"),
    [
        ("- Priority: high", "priority", "high"),
        ("- **Priority**: high", "priority", "high"),
        ("- **Priority:** high", "priority", "high"),
        ("- __Priority__: high", "priority", "high"),
        ("- Priority：high", "priority", "high"),
        ("* PRIORITY :   high  ", "priority", "high"),
        ("- Last Run: 2024-01-01 10:00 (ok)", "last run", "2024-01-01 10:00 (ok)"),
        ("- Schedule: daily", "recurring", "daily"),
        ("- 目標: 60個", "目標", "60個"),
    ],
)
def test_field_spellings(line: str, key: str, value: str) -> None:
    """Bold keys, full-width colons, case and aliases all read as the same field."""
    doc = parse(f"## Pending\n### T\n{line}\n")
    field = doc.tasks[0].field(key)
    assert field is not None
    assert field.value == value
    assert line[field.value_start : field.value_end] == value


def test_urls_are_not_fields() -> None:
    """`- http://x` or `- Check https://...` is not read as a key."""
    doc = parse("## Pending\n### T\n- https://example.com/x\n- See http://a.b/c\n")
    assert doc.tasks[0].fields == ()


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ("- Due: next tuesday", "Due"),
        ("- Due: 2024-13-45", "Due"),
        ("- Recurring: sometimes", "Recurring"),
        ("- ID: has space", "ID"),
        ("- Catch up: twice", "Catch up"),
    ],
)
def test_bad_values_are_errors_and_skip_the_task(field: str, message: str) -> None:
    """A value that cannot be read is an error on its line and the task is skipped."""
    doc = parse(f"## Pending\n### T\n{field}\n### Other\n- Due: 2024-01-01\n")
    errors = doc.errors
    assert errors and errors[0].line == 3 and message in errors[0].message
    bad, good = doc.tasks
    assert bad.problem is not None
    assert good.problem is None


def test_bad_priority_is_a_warning() -> None:
    """An unknown priority warns and falls back to medium."""
    doc = parse("## Pending\n### T\n- Priority: whenever\n")
    assert doc.tasks[0].priority is Priority.MEDIUM
    assert doc.tasks[0].problem is None
    assert doc.diagnostics[0].severity is Severity.WARNING


def test_duplicate_identity_is_an_error() -> None:
    """Two pending tasks with one identity are both flagged and skipped."""
    doc = parse("## Pending\n### Same\n### Same\n### Other\n- ID: same\n")
    assert len(doc.errors) == 3
    assert all(t.problem for t in doc.tasks)


def test_completed_titles_may_repeat_pending_ones() -> None:
    """History in Completed does not clash with a pending task of the same title."""
    doc = parse("## Pending\n### Check CI\n## Completed\n### Check CI\n- Completed: x\n")
    assert not doc.errors
    task = doc.task("check-ci")
    assert task is not None and task.section is Section.PENDING


def test_iso_due_with_offset() -> None:
    """An ISO 8601 due time with an offset or Z keeps its offset."""
    doc = parse(
        "## Pending\n### A\n- Due: 2024-01-15T14:00+01:00\n### B\n- Due: 2024-01-15T13:00Z\n"
    )
    a, b = doc.tasks
    assert a.due == b.due
    assert b.due is not None and b.due.tzinfo == UTC


def test_runner_fields_are_read() -> None:
    """Last run, attempts and paused come back from the file."""
    doc = parse(
        "## Pending\n### T\n- Recurring: hourly\n- Last run: 2024-01-15 18:00 (error)\n"
        "- Attempts: 2\n- Paused: failed 3 times\n"
    )
    t = doc.tasks[0]
    assert t.last_run == datetime(2024, 1, 15, 18, 0)
    assert t.last_status == "error"
    assert t.attempts == 2
    assert t.paused == "failed 3 times"


def test_no_pending_section_warns() -> None:
    """A file with no Pending section says nothing will run."""
    doc = parse("# HEARTBEAT.md\n\n# Keep this file empty\n")
    assert doc.tasks == ()
    assert [d.severity for d in doc.diagnostics] == [Severity.WARNING]
    assert doc.diagnostics[0].line == 0


def test_configurable_section_names() -> None:
    """Section names come from the caller, matched case-insensitively."""
    text = "## Jobs\n- [ ] one\n## Archive\n- [x] two\n"
    assert parse(text).tasks == ()
    doc = parse(text, pending_sections=["jobs"], completed_sections=["ARCHIVE"])
    assert [(t.id, t.section) for t in doc.tasks] == [
        ("one", Section.PENDING),
        ("two", Section.COMPLETED),
    ]


def test_section_name_inside_tasks_title_starts_a_section() -> None:
    """`# Tasks` as a title does not swallow a `## Pending` below it as a task."""
    doc = parse("# Tasks\n## Pending\n### A\n## Completed\n### B\n")
    assert [(t.id, t.section) for t in doc.tasks] == [
        ("a", Section.PENDING),
        ("b", Section.COMPLETED),
    ]


@pytest.mark.parametrize(
    ("title", "name"),
    [
        ("Pending", "pending"),
        ("✅ Completed (3)", "completed"),
        ("**Active Tasks**", "active tasks"),
        ("2. To Do", "to do"),
    ],
)
def test_section_name(title: str, name: str) -> None:
    """Emoji, bold, numbering and trailing parentheses do not change a section's name."""
    assert section_name(title) == name


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Check CI Status", "check-ci-status"),
        ("检查 日报 ✅", "检查-日报"),
        ("  Weird -- __ punctuation!! ", "weird-punctuation"),
    ],
)
def test_slug(title: str, expected: str) -> None:
    """Identities are lower-case words joined by hyphens, in any script."""
    assert slug(title) == expected


def test_setext_and_deeper_headings_inside_a_task() -> None:
    """A `####` heading inside a task is part of the task, not a new one."""
    doc = parse("## Pending\n### Task\n#### Details\ntext\n### Next\n")
    assert [t.id for t in doc.tasks] == ["task", "next"]
    assert "#### Details" in doc.tasks[0].text


def test_odd_indentation_still_reads_or_warns() -> None:
    """Two spaces after the dash still give the task and its nested field."""
    doc = parse("## Pending\n-  [ ] Pay the rent\n  - Due: 2030-01-01\n- [ ] Other\n")
    assert [(t.id, t.due is not None) for t in doc.tasks] == [
        ("pay-the-rent", True),
        ("other", False),
    ]


def test_task_named_like_a_section_is_a_task() -> None:
    """`### Done` inside `## Pending` is a task, and the tasks after it stay tasks."""
    doc = parse("## Pending\n### Write\n### Done\n### Report\n## Completed\n")
    assert [(t.id, t.section.value) for t in doc.tasks] == [
        ("write", "pending"),
        ("done", "pending"),
        ("report", "pending"),
    ]


def test_parse_leaves_the_collector_as_it_found_it() -> None:
    """parse() never touches the process-wide GC: on stays on (also for another thread
    while a parse runs), a caller's off stays off, also when parses overlap in threads."""
    import gc
    import threading

    seen: list[bool] = []
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            seen.append(gc.isenabled())

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        for _ in range(3):
            parse("## Pending\n### T\n- Due: 2030-01-01 09:00\n" * 300)
    finally:
        done.set()
        watcher.join()
    assert seen and all(seen)

    assert gc.isenabled()
    parse("## Pending\n### A\n- Due: 2030-01-01 09:00\n")
    assert gc.isenabled()
    gc.disable()
    try:
        parse("## Pending\n### A\n")
        assert not gc.isenabled()
    finally:
        gc.enable()
    threads = [
        threading.Thread(target=parse, args=("## Pending\n### T\n" * 200,)) for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert gc.isenabled()
