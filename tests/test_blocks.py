"""format.blocks: lines with their endings, and blocks with exact source spans."""

from __future__ import annotations

import pytest

from localhb.format.blocks import content, is_blank, parse_blocks, split_lines


@pytest.mark.parametrize(
    "text",
    ["", "one", "one\n", "a\r\nb\rc\nd", "\n\n\n", "x\r\n\r\n", "\ufefftitle\nbody"],
)
def test_split_lines_gives_the_text_back(text: str) -> None:
    """Each line keeps its own ending (CRLF, CR or LF), so joining them is the text."""
    lines = split_lines(text)
    assert "".join(lines) == text
    assert all(line.count("\n") + line.count("\r") <= 2 for line in lines)


def test_split_lines_splits_where_mistune_does() -> None:
    assert split_lines("a\r\nb\rc\nd") == ["a\r\n", "b\r", "c\n", "d"]
    assert content("a\r\n") == "a" and content("b\r") == "b" and content("c") == "c"
    assert is_blank(" \t\n") and not is_blank(" x\n")


def test_top_level_blocks_have_their_line_spans() -> None:
    """A block runs from its first line to where the next sibling begins."""
    lines = split_lines("# Title\n\nsome text\nmore\n\n## Pending\n- [ ] a\n- [ ] b\n")
    blocks = parse_blocks(lines)
    assert [(b.kind, b.start, b.end) for b in blocks] == [
        ("heading", 0, 1),
        ("blank_line", 1, 2),
        ("paragraph", 2, 4),
        ("blank_line", 4, 5),
        ("heading", 5, 6),
        ("list", 6, 8),
    ]
    heading = blocks[0]
    assert heading.level == 1
    assert next(b for b in blocks if b.start == 5).level == 2


def test_list_items_are_located_with_their_own_lines() -> None:
    """Each item spans its marker line and its continuation lines; nested blocks are placed."""
    lines = split_lines("- [ ] first\n  - Due: 2024-01-01\n- [ ] second\n\n  more of second\n")
    (lst,) = [b for b in parse_blocks(lines) if b.kind == "list"]
    items = [(c.kind, c.start, c.end) for c in lst.children]
    assert items == [("list_item", 0, 2), ("list_item", 2, 5)]
    assert lst.children[0].token["_width"] == 2
    nested = [c.kind for c in lst.children[0].children]
    assert "list" in nested


def test_crlf_and_a_bom_do_not_shift_spans() -> None:
    lines = split_lines("\ufeff## Pending\r\n- [ ] a\r\n- [ ] b\r\n")
    blocks = parse_blocks(lines)
    assert [(b.kind, b.start, b.end) for b in blocks] == [("heading", 0, 1), ("list", 1, 3)]
    assert [(c.start, c.end) for c in blocks[1].children] == [(1, 2), (2, 3)]


def test_a_list_the_scan_cannot_match_is_left_opaque() -> None:
    """When the scan and mistune disagree on the items, the list has no children and is
    marked unread: a surprise makes localhb read less, never invent a task."""
    # A lazy continuation line that looks like a marker of another list kind.
    lines = split_lines("1. one\n2. two\n- three\n")
    blocks = parse_blocks(lines)
    for block in blocks:
        if block.kind == "list" and block.token.get("_unread"):
            assert block.children == []
    # Whatever the split, every line is inside exactly one top-level block.
    covered = [i for b in blocks for i in range(b.start, b.end)]
    assert covered == list(range(len(lines)))


def test_code_fences_are_one_block() -> None:
    lines = split_lines("```\n- [ ] not a task\n```\n- [ ] a task\n")
    blocks = parse_blocks(lines)
    assert [(b.kind, b.start, b.end) for b in blocks] == [("block_code", 0, 3), ("list", 3, 4)]
