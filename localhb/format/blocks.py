"""Markdown blocks with exact source lines, from mistune.

mistune does not report source positions, so a small hook recovers them:
every token appended to a block state is stamped with the offset where the
parser was when it began that block (`_Parser.parse_method` records it), and
spans follow from the next sibling's start. List items are located by a scan
of the list's own lines with CommonMark's sibling rule, and the count is
checked against mistune's; on any disagreement the list is left opaque, so a
surprise can only make localhb read less, never invent a task.

Lines are split the way mistune splits them (at CRLF, CR or LF); each kept
line carries its own ending, so `"".join(lines)` is the original text.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from re import Match
from typing import Any

from mistune.block_parser import BlockParser
from mistune.core import BlockState

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")
_ITEM = re.compile(r"^( {0,3})([*+-]|\d{1,9}[.)])([ \t]+|$)")


def split_lines(text: str) -> list[str]:
    """Lines with their endings; the concatenation is `text` itself."""
    return _LINE.findall(text)


def content(line: str) -> str:
    """A line without its ending."""
    return line.rstrip("\r\n")


def is_blank(line: str) -> bool:
    return not line.strip()


@dataclass(slots=True)
class Block:
    """A markdown block: `kind` is mistune's token type; lines [start, end)."""

    kind: str
    start: int
    end: int
    token: dict[str, Any]
    children: list[Block]

    @property
    def level(self) -> int:
        return int(self.token.get("attrs", {}).get("level", 0))


class _Tokens(list[dict[str, Any]]):
    """A token list that stamps each new token with where its block began."""

    def __init__(self, state: _State) -> None:
        super().__init__()
        self.state = state

    def _stamp(self, token: dict[str, Any]) -> None:
        if "_start" not in token:
            st = self.state
            token["_start"] = st.cursor if st.block_start is None else st.block_start
            token["_state"] = st

    def append(self, token: dict[str, Any]) -> None:
        self._stamp(token)
        super().append(token)

    def insert(self, index: Any, token: dict[str, Any]) -> None:
        self._stamp(token)
        super().insert(index, token)


class _State(BlockState):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.tokens = _Tokens(self)
        self.block_start: int | None = None
        self._line_starts: list[int] | None = None

    def line_of(self, offset: int) -> int:
        """0-based line index of a character offset in this state's source."""
        if self._line_starts is None:
            starts = [0]
            find = self.src.find
            pos = find("\n")
            while pos != -1:
                starts.append(pos + 1)
                pos = find("\n", pos + 1)
            self._line_starts = starts
        return bisect_right(self._line_starts, offset) - 1


class _Parser(BlockParser):
    state_cls = _State

    def parse_method(self, m: Match[str], state: BlockState) -> int | None:
        assert isinstance(state, _State)
        outer = state.block_start
        state.block_start = state.cursor
        try:
            return super().parse_method(m, state)
        finally:
            state.block_start = outer


_PARSER = _Parser()


def parse_blocks(lines: list[str]) -> list[Block]:
    """Top-level blocks of the document whose lines are `lines`."""
    norm = [content(line) for line in lines]
    if norm and norm[0].startswith("\ufeff"):
        norm[0] = norm[0][1:]
    state = _State()
    state.process("".join(s + "\n" for s in norm))
    _PARSER.parse(state)
    return _spans(state.tokens, norm, base=0, end=len(lines), indent=0)


def _spans(
    tokens: list[dict[str, Any]], norm: list[str], base: int, end: int, indent: int
) -> list[Block]:
    """Blocks for sibling tokens; `base` is the document line of the state's line 0."""
    blocks: list[Block] = []
    starts: list[int] = []
    for tok in tokens:
        st = tok.get("_state")
        if not isinstance(st, _State):
            continue
        starts.append(base + st.line_of(tok["_start"]))
        blocks.append(Block(tok["type"], 0, 0, tok, []))
    for i, block in enumerate(blocks):
        block.start = min(starts[i], end)
        block.end = min(starts[i + 1], end) if i + 1 < len(blocks) else end
        if block.end < block.start:  # never expected; keep spans well-formed
            block.end = block.start
    for block in blocks:
        if block.kind == "list":
            block.children = _list_items(block, norm, indent)
    return blocks


def _dedent(line: str, indent: int) -> str:
    """`line` with tabs expanded and up to `indent` leading spaces removed."""
    line = line.expandtabs(4)
    keep = len(line) - len(line.lstrip(" "))
    return line[min(keep, indent) :]


def _list_items(block: Block, norm: list[str], indent: int) -> list[Block]:
    """The items of a list block, each with its own nested blocks."""
    items = block.token.get("children", [])
    starts: list[tuple[int, int]] = []  # (line, content column)
    width = -1
    reach = 0  # how far a sibling marker may be indented (mistune's leading width)
    kind = ""
    for i in range(block.start, block.end):
        line = _dedent(norm[i], indent)
        if not line.strip():
            continue
        lead = len(line) - len(line.lstrip(" "))
        m = _ITEM.match(line)
        if m and (width < 0 or (lead < width and lead <= reach and _kind(m) == kind)):
            width = _content_width(m, line)
            reach = min(len(m.group(1)) + len(m.group(2)), 3)
            kind = _kind(m)
            starts.append((i, width))
        elif width < 0:
            block.token["_unread"] = True
            return []
    if len(starts) != len(items):
        block.token["_unread"] = True  # the parser reports it; nothing here is guessed
        return []
    result: list[Block] = []
    for n, ((at, width), item) in enumerate(zip(starts, items, strict=True)):
        stop = starts[n + 1][0] if n + 1 < len(starts) else block.end
        node = Block("list_item", at, stop, item, [])
        children = item.get("children", [])
        if any(c.get("type") != "block_text" for c in children):
            # Only items holding more than their own text need their blocks placed.
            text = _dedent(norm[at], indent)
            first = _ITEM.match(text)
            offset = 0 if first and text[first.end() :].strip() else 1
            node.children = _spans(
                children, norm, base=at + offset, end=stop, indent=indent + width
            )
        node.token["_width"] = width
        result.append(node)
    return result


def _kind(m: Match[str]) -> str:
    """Items of one list share a bullet character, or an ordinal delimiter."""
    marker = m.group(2)
    return marker[-1] if marker[-1] in ".)" else marker


def _content_width(m: Match[str], line: str) -> int:
    """CommonMark's content column of a list item (marker width plus 1-4 spaces)."""
    lead = len(m.group(1)) + len(m.group(2))
    rest = line[lead:]
    if not rest.strip():
        return lead + 1
    spaces = len(rest) - len(rest.lstrip(" "))
    return lead + (spaces if 1 <= spaces <= 4 else 1)
