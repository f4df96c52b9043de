"""Surgical edits: only the lines an edit must touch change."""

from __future__ import annotations

import difflib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from localhb.core.errors import EditConflict
from localhb.format.blocks import split_lines
from localhb.format.edit import MoveToCompleted, RemoveField, SetChecked, SetField, apply_edits
from localhb.format.model import Section
from localhb.format.parser import parse

BASE = """# Tasks file

## Pending

### Alpha
- Due: 2024-01-15 14:00
- **Priority**: high

Free text for alpha.

### Beta
- Recurring: daily at 18:00

## Completed

### Old
- Completed: 2024-01-01 10:00
"""


def changed_lines(before: str, after: str) -> list[str]:
    """Lines removed or added between two texts (with their endings)."""
    sm = difflib.SequenceMatcher(a=split_lines(before), b=split_lines(after))
    out: list[str] = []
    for tag, a1, a2, b1, b2 in sm.get_opcodes():
        if tag != "equal":
            out += split_lines(before)[a1:a2] + split_lines(after)[b1:b2]
    return out


def test_replace_existing_field_keeps_prefix_and_ending() -> None:
    """Replacing a value changes only that value; bold markers and CRLF stay."""
    text = BASE.replace("\n", "\r\n")
    out = apply_edits(parse(text), [SetField("alpha", "priority", "low")])
    assert out == text.replace("- **Priority**: high", "- **Priority**: low")


def test_add_field_copies_style() -> None:
    """A new field goes after the task's last field, styled like its first field."""
    out = apply_edits(parse(BASE), [SetField("alpha", "Last run", "2024-01-15 14:00 (ok)")])
    assert "- **Priority**: high\n- Last run: 2024-01-15 14:00 (ok)\n\nFree text" in out
    assert changed_lines(BASE, out) == ["- Last run: 2024-01-15 14:00 (ok)\n"]
    bold = "## Pending\n### B\n- **Recurring**: hourly\n"
    out = apply_edits(parse(bold), [SetField("b", "last run", "x")])
    assert out == bold + "- **Last run**: x\n"


def test_add_field_to_task_without_fields() -> None:
    """A task with no fields gets its first one right under the heading."""
    text = "## Pending\n### Bare\n\nJust prose.\n"
    out = apply_edits(parse(text), [SetField("bare", "Last run", "x")])
    assert out == "## Pending\n### Bare\n- Last run: x\n\nJust prose.\n"


def test_remove_field() -> None:
    """Removing a field deletes exactly its line."""
    out = apply_edits(parse(BASE), [RemoveField("alpha", "due")])
    assert changed_lines(BASE, out) == ["- Due: 2024-01-15 14:00\n"]


def test_values_are_single_line() -> None:
    """A value with newlines is folded onto one line, so it cannot inject lines."""
    out = apply_edits(parse(BASE), [SetField("beta", "notes", "a\n### Injected\nb")])
    assert "### Injected" not in out.replace("a ### Injected b", "")
    assert parse(out).task("injected") is None


def test_move_to_completed() -> None:
    """A completed task leaves Pending and is appended to Completed with its fields."""
    out = apply_edits(
        parse(BASE),
        [
            MoveToCompleted("alpha"),
            SetField("alpha", "completed", "2024-01-15 14:05"),
            SetField("alpha", "notes", "done"),
        ],
    )
    assert out == (
        "# Tasks file\n\n## Pending\n\n### Beta\n- Recurring: daily at 18:00\n\n"
        "## Completed\n\n### Old\n- Completed: 2024-01-01 10:00\n\n"
        "### Alpha\n- Due: 2024-01-15 14:00\n- **Priority**: high\n"
        "- Completed: 2024-01-15 14:05\n- Notes: done\n\nFree text for alpha.\n"
    )
    doc = parse(out)
    alpha = doc.task("alpha")
    assert alpha is not None and alpha.section is Section.COMPLETED


def test_move_last_task_keeps_gap_before_next_section() -> None:
    """Moving a section's last task keeps the blank line before the next heading."""
    out = apply_edits(parse(BASE), [MoveToCompleted("beta")])
    assert "Free text for alpha.\n\n## Completed\n" in out


def test_move_creates_completed_section() -> None:
    """Without a Completed section one is appended at the end of the file."""
    text = "## Pending\n\n### A\n- Due: 2024-01-01\n\n### B\n"
    out = apply_edits(parse(text), [MoveToCompleted("a")])
    assert out == "## Pending\n\n### B\n\n## Completed\n\n### A\n- Due: 2024-01-01\n"


def test_move_keeps_missing_final_newline() -> None:
    """A file without a final newline still has none after a move to the end."""
    text = "## Pending\n### A\n- x: 1\n### B\n## Completed\n### Old"
    out = apply_edits(parse(text), [MoveToCompleted("a")])
    assert out == "## Pending\n### B\n## Completed\n### Old\n### A\n- x: 1"


def test_checkbox_flip_and_move() -> None:
    """A checkbox task is ticked and moved with nested fields in its indentation."""
    text = "## Active Tasks\n- [ ] one\n- [ ] two\n\n## Completed\n- [x] zero\n"
    out = apply_edits(
        parse(text),
        [
            SetChecked("one"),
            SetField("one", "completed", "2024-01-01 10:00"),
            MoveToCompleted("one"),
        ],
    )
    assert out == (
        "## Active Tasks\n- [ ] two\n\n## Completed\n- [x] zero\n"
        "- [x] one\n  - Completed: 2024-01-01 10:00\n"
    )


def test_edit_of_missing_task_conflicts() -> None:
    """An edit naming a task the file no longer has raises EditConflict."""
    with pytest.raises(EditConflict):
        apply_edits(parse(BASE), [SetField("gone", "notes", "x")])


def test_no_edits_is_identity() -> None:
    """An empty edit list returns the text unchanged."""
    assert apply_edits(parse(BASE), []) == BASE


# -- properties ---------------------------------------------------------------

line_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"),
    max_size=30,
)
ending = st.sampled_from(["\n", "\r\n", "\r", ""])


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_any_text_round_trips(text: str) -> None:
    """Any text whatsoever parses without error and renders back identically."""
    assert parse(text).render() == text


markdownish = st.lists(
    st.tuples(
        st.sampled_from(
            [
                "",
                "## Pending",
                "## Completed",
                "### Task",
                "- Key: v",
                "- [ ] box",
                "```",
                "<!--",
                "-->",
                "text",
                "  - nested: 1",
                "# Title",
                "> quote",
                "    code",
                "1. item",
                "\t- x",
            ]
        ),
        line_text,
        st.sampled_from(["\n", "\r\n"]),
    ),
    max_size=40,
).map(lambda rows: "".join(a + (" " + b if b and a else b) + e for a, b, e in rows))


@settings(max_examples=300, deadline=None)
@given(markdownish)
def test_markdown_like_text_round_trips(text: str) -> None:
    """Markdown-shaped text with mixed endings renders back identically."""
    doc = parse(text)
    assert doc.render() == text
    for t in doc.tasks:
        assert 0 <= t.start < t.end <= len(doc.lines)


@settings(max_examples=200, deadline=None)
@given(markdownish, st.text(alphabet="abc xyz:#-", max_size=20))
def test_set_field_edits_stay_local(text: str, value: str) -> None:
    """Setting a field changes only lines inside the task's own span."""
    doc = parse(text)
    for task in doc.pending():
        if task.problem:
            continue
        out = apply_edits(doc, [SetField(task.id, "Last run", value)])
        before = split_lines(text)
        after = split_lines(out)
        head, tail = before[: task.start], before[task.end :]
        assert after[: task.start] == head or (
            # the last line may gain a line ending when a field is added after it
            [ln.rstrip("\r\n") for ln in after[: task.start]] == [ln.rstrip("\r\n") for ln in head]
        )
        if tail:
            assert after[len(after) - len(tail) :] == tail
        again = parse(out)
        moved = again.task(task.id)
        assert moved is not None
        break


@settings(max_examples=200, deadline=None)
@given(markdownish)
def test_move_keeps_everything_else(text: str) -> None:
    """Moving a task to Completed keeps every other non-blank line, in order."""
    doc = parse(text)
    for task in doc.pending():
        if task.problem:
            continue
        out = apply_edits(doc, [MoveToCompleted(task.id)])
        rest = [ln for i, ln in enumerate(doc.lines) if not (task.start <= i < task.end)]
        kept = [ln.rstrip("\r\n") for ln in rest if ln.strip()]
        new = [ln.rstrip("\r\n") for ln in split_lines(out) if ln.strip()]
        it = iter(new)
        assert all(any(k == n for n in it) for k in kept)
        break


# -- regressions found in review ----------------------------------------------


def test_moving_two_tasks_keeps_the_completed_heading() -> None:
    """Two moves whose blank-line ranges touch never delete a neighbouring line."""
    text = "## Pending\n- [ ] A\n\n\n- [ ] B\n## Completed\n### Old\n"
    out = apply_edits(parse(text), [MoveToCompleted("a"), MoveToCompleted("b")])
    doc = parse(out)
    assert "## Completed" in out
    assert [(t.id, t.section.value) for t in doc.tasks] == [
        ("a", "completed"),
        ("b", "completed"),
        ("old", "completed"),
    ]


def test_removing_an_added_field_keeps_the_prose() -> None:
    """A field added above a task's prose is removed without taking the prose along."""
    text = "## Pending\n### Check inbox (every 4 hours)\nOnly flag mail from the bank.\n"
    once = apply_edits(parse(text), [SetField("check-inbox", "last error", "down")])
    assert once == (
        "## Pending\n### Check inbox (every 4 hours)\n- Last error: down\n\n"
        "Only flag mail from the bank.\n"
    )
    twice = apply_edits(parse(once), [RemoveField("check-inbox", "last error")])
    assert "Only flag mail from the bank." in twice


def test_lazy_continuation_is_not_part_of_a_field() -> None:
    """Unindented text right under a field line is the author's, not the field's."""
    text = "## Pending\n### T\n- Last error: x\nKeep this line.\n"
    out = apply_edits(parse(text), [RemoveField("t", "last error")])
    assert out == "## Pending\n### T\nKeep this line.\n"


def test_checkbox_moves_above_completed_heading_tasks() -> None:
    """A ticked checkbox lands in Completed's own list, not inside a completed heading task."""
    text = "## Pending\n- [ ] one\n\n## Completed\n\n### Old\n- Completed: x\n"
    out = apply_edits(parse(text), [SetChecked("one"), MoveToCompleted("one")])
    assert out == "## Pending\n\n## Completed\n- [x] one\n\n### Old\n- Completed: x\n"
    assert [t.id for t in parse(out).tasks] == ["one", "old"]


def test_cr_only_file_keeps_cr_endings() -> None:
    """A file with old Mac line endings gets CR on the lines localhb writes."""
    text = "## Pending\r### T\r- Due: 2024-01-01\r"
    out = apply_edits(parse(text), [SetField("t", "last run", "x")])
    assert out == "## Pending\r### T\r- Due: 2024-01-01\r- Last run: x\r"
