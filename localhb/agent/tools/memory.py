"""memory_search and memory_append over `MEMORY.md` and `memory/*.md` in the workspace.

Search builds an in-memory SQLite FTS5 index per call (memory is small and
changes during a run), ranked with bm25; where the sqlite3 build has no FTS5,
a plain term-frequency ranking gives the same kind of answer. Each hit is a
`Snippet` citing `file:line`.

Append adds one timestamped entry to `memory/YYYY-MM-DD.md` (local date) as a
single `write` on a descriptor opened with O_APPEND, holding an flock on it, so
entries from several tasks or processes never interleave and the check for a
missing final newline (after a hand edit) never sees half an entry. A new file
gets its heading by an atomic link of a complete temporary file, so the
heading is always first.
"""

from __future__ import annotations

import math
import os
import re
import sqlite3
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from localhb.agent.tools.base import Tool, ToolContext, obj
from localhb.agent.tools.paths import PathPolicy
from localhb.core.errors import ToolError

MAX_CHUNK_LINES = 6
MAX_SNIPPET_CHARS = 300
MAX_QUERY_TERMS = 32
MAX_ENTRY_CHARS = 8000
MAX_FACTS_CHARS = 16000  # MEMORY.md as memory_rewrite writes it: short by design
FACTS = "MEMORY.md"
BACKUPS = "memory/backups"
_WORD = re.compile(r"\w+")
_STOP_WORDS = (
    "a an and are as at be but by do for from has have if in is it its of on or so "
    "that the this to was were will with"
)
_STOP = frozenset(_STOP_WORDS.split())


@dataclass(frozen=True, slots=True)
class Snippet:
    """A piece of memory that matched: where it is and what it says."""

    path: str
    line: int
    text: str
    score: float

    @property
    def cite(self) -> str:
        return f"{self.path}:{self.line}"


def memory_files(paths: PathPolicy) -> list[Path]:
    """MEMORY.md and memory/*.md of the workspace that really lie inside the roots."""
    ws = paths.workspace
    candidates = [ws / "MEMORY.md", *sorted((ws / "memory").glob("*.md"))]
    found = []
    for candidate in candidates:
        if not candidate.is_file():
            continue
        try:
            found.append(paths.resolve(str(candidate), tool="memory_search"))
        except ToolError:  # a link out of the workspace: not memory we may read
            continue
    return found


def chunks(text: str) -> Iterator[tuple[int, str]]:
    """(first line, text) of each chunk: split at blank lines and headings, a few lines each."""
    start, lines = 0, list[str]()
    for number, line in enumerate(text.splitlines(), start=1):
        boundary = not line.strip() or line.lstrip().startswith("#")
        if lines and (boundary or len(lines) >= MAX_CHUNK_LINES):
            yield start, "\n".join(lines)
            lines = []
        if line.strip():
            if not lines:
                start = number
            lines.append(line.strip())
    if lines:
        yield start, "\n".join(lines)


def terms(query: str) -> list[str]:
    """The words of a query worth searching for, lower case, each once."""
    seen: dict[str, None] = {}
    for word in _WORD.findall(query.lower()):
        if len(word) > 1 and word not in _STOP:
            seen.setdefault(word, None)
    return list(seen)[:MAX_QUERY_TERMS]


def search(
    paths: PathPolicy,
    query: str,
    limit: int,
    *,
    use_fts: bool = True,
    facts_first: bool = False,
) -> list[Snippet]:
    """The `limit` chunks of memory most relevant to `query`, best first.

    With `facts_first`, matches in MEMORY.md (the distilled facts) come before
    any from the daily logs, which only fill the places left.
    """
    if facts_first:
        facts = [p for p in memory_files(paths) if p.name == FACTS and p.parent == paths.workspace]
        first = _search_in(paths, facts, query, limit, use_fts)
        rest = [p for p in memory_files(paths) if p not in facts]
        return first + _search_in(paths, rest, query, limit - len(first), use_fts)
    return _search_in(paths, memory_files(paths), query, limit, use_fts)


def _search_in(
    paths: PathPolicy, files: list[Path], query: str, limit: int, use_fts: bool
) -> list[Snippet]:
    words = terms(query)
    if not words or limit <= 0:
        return []
    rows: list[tuple[str, int, str]] = []
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        shown = paths.show(path)
        rows.extend((shown, line, chunk) for line, chunk in chunks(text))
    if not rows:
        return []
    ranked = _fts_rank(rows, words, limit) if use_fts else None
    if ranked is None:
        ranked = _plain_rank(rows, words, limit)
    return [Snippet(p, n, _trim(t), s) for p, n, t, s in ranked]


def _fts_rank(
    rows: list[tuple[str, int, str]], words: list[str], limit: int
) -> list[tuple[str, int, str, float]] | None:
    con = sqlite3.connect(":memory:")
    try:
        con.execute(
            "CREATE VIRTUAL TABLE chunk USING fts5("
            "body, path UNINDEXED, line UNINDEXED, tokenize='unicode61 remove_diacritics 2')"
        )
    except sqlite3.OperationalError:  # this sqlite3 was built without FTS5
        con.close()
        return None
    try:
        con.executemany("INSERT INTO chunk (path, line, body) VALUES (?, ?, ?)", rows)
        match = " OR ".join(f'"{w}"*' for w in words)
        found = con.execute(
            "SELECT path, line, body, -bm25(chunk) FROM chunk WHERE chunk MATCH ? "
            "ORDER BY bm25(chunk), path, line LIMIT ?",
            (match, limit),
        ).fetchall()
    finally:
        con.close()
    return [(str(p), int(n), str(t), float(s)) for p, n, t, s in found]


def _plain_rank(
    rows: list[tuple[str, int, str]], words: list[str], limit: int
) -> list[tuple[str, int, str, float]]:
    tokens = [Counter(_WORD.findall(t.lower())) for _, _, t in rows]

    def tf(bag: Counter[str], word: str) -> int:
        return sum(n for token, n in bag.items() if token.startswith(word))

    df = {w: sum(1 for bag in tokens if tf(bag, w)) for w in words}
    scored = []
    for (path, line, text), bag in zip(rows, tokens, strict=True):
        score = sum(
            (1 + math.log(tf(bag, w))) * math.log(1 + len(rows) / df[w])
            for w in words
            if tf(bag, w)
        )
        if score > 0:
            scored.append((path, line, text, score))
    scored.sort(key=lambda r: (-r[3], r[0], r[1]))
    return scored[:limit]


def _trim(text: str) -> str:
    text = " / ".join(text.splitlines())
    return text if len(text) <= MAX_SNIPPET_CHARS else text[: MAX_SNIPPET_CHARS - 1] + "…"


def format_entry(when: datetime, task_id: str, text: str) -> str:
    """One memory entry: `- HH:MM [task] first line`, further lines indented under it."""
    lines = text.strip().splitlines() or [""]
    body = "\n".join([lines[0], *("  " + ln if ln.strip() else "" for ln in lines[1:])])
    return f"- {when:%H:%M} [{task_id}] {body}\n"


def append_entry(path: Path, when: datetime, entry: str) -> None:
    """Append `entry` to `path` in one O_APPEND write; a new file starts with its heading."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        _create_with(path, f"# Memory {when:%Y-%m-%d}\n\n".encode())
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        locked = _lock(fd)
        data = entry.encode("utf-8")
        size = os.fstat(fd).st_size
        if locked and size:  # a hand edit may have left no final newline
            os.lseek(fd, size - 1, os.SEEK_SET)
            if os.read(fd, 1) != b"\n":
                data = b"\n" + data
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)  # also releases the lock


def _lock(fd: int) -> bool:
    """Hold an exclusive flock on `fd` (until it is closed); False where there is none."""
    try:
        import fcntl
    except ImportError:  # Windows: the O_APPEND write alone keeps entries whole
        return False
    fcntl.flock(fd, fcntl.LOCK_EX)
    return True


def _create_with(path: Path, data: bytes) -> None:
    """Create `path` holding `data`, atomically; leave it alone if it appeared meanwhile."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
        os.link(tmp, path)
    except FileExistsError:
        pass
    except OSError:  # no hard links here: a heading is nice, not needed
        pass
    finally:
        tmp.unlink(missing_ok=True)


def _search_tool(ctx: ToolContext, args: Mapping[str, Any]) -> str:
    hits = search(ctx.paths, args["query"], int(args.get("limit", 5)))
    if not hits:
        return "no memory matched"
    return "\n".join(f"{h.cite}: {h.text}" for h in hits)


def _append_tool(ctx: ToolContext, args: Mapping[str, Any]) -> str:
    text: str = args["text"]
    if not text.strip():
        raise ToolError("text is empty", tool="memory_append")
    if len(text) > MAX_ENTRY_CHARS:
        raise ToolError(
            f"text is {len(text):,} characters; keep entries under {MAX_ENTRY_CHARS:,} "
            "or write a file and note its path",
            tool="memory_append",
        )
    when = ctx.now().astimezone(ctx.tz)
    path = ctx.paths.writable(f"memory/{when:%Y-%m-%d}.md", tool="memory_append")
    append_entry(path, when, format_entry(when, ctx.task_id, text))
    return f"appended to {ctx.paths.show(path)}"


def rewrite_facts(paths: PathPolicy, text: str, when: datetime) -> tuple[Path, Path | None]:
    """Replace MEMORY.md with `text`, first copying the old one to a dated backup
    under memory/backups/ (never overwritten: a second rewrite in the same minute
    gets a numbered name). Returns (MEMORY.md, the backup or None when there was
    no MEMORY.md). The daily logs are never touched."""
    from localhb.agent.tools.files import replace_atomically

    target = paths.writable(FACTS, tool="memory_rewrite")
    backup = None
    if target.exists():
        folder = paths.writable(BACKUPS, tool="memory_rewrite")
        folder.mkdir(parents=True, exist_ok=True)
        stem = f"MEMORY-{when:%Y-%m-%d-%H%M}"
        backup = folder / f"{stem}.md"
        n = 1
        while backup.exists():
            n += 1
            backup = folder / f"{stem}-{n}.md"
        backup.write_bytes(target.read_bytes())
    replace_atomically(target, text.encode("utf-8"))
    return target, backup


def _rewrite_tool(ctx: ToolContext, args: Mapping[str, Any]) -> str:
    text = ctx.redact(str(args["text"])).strip()
    if not text:
        raise ToolError("text is empty; MEMORY.md is left as it is", tool="memory_rewrite")
    if len(text) > MAX_FACTS_CHARS:
        raise ToolError(
            f"text is {len(text):,} characters; the facts must fit in {MAX_FACTS_CHARS:,}: "
            "keep only what later runs need",
            tool="memory_rewrite",
        )
    when = ctx.now().astimezone(ctx.tz)
    target, backup = rewrite_facts(ctx.paths, text + "\n", when)
    kept = f"; the old one is kept as {ctx.paths.show(backup)}" if backup else ""
    return f"rewrote {ctx.paths.show(target)} ({len(text):,} characters){kept}"


MEMORY_SEARCH = Tool(
    "memory_search",
    "Search memory (MEMORY.md, memory/*.md) for keywords.",
    obj(
        ("query",),
        query={"type": "string"},
        limit={"type": "integer", "minimum": 1, "maximum": 20},
    ),
    _search_tool,
)
MEMORY_APPEND = Tool(
    "memory_append",
    "Note a fact for later runs in today's memory file.",
    obj(("text",), text={"type": "string"}),
    _append_tool,
)
MEMORY_REWRITE = Tool(
    "memory_rewrite",
    "Replace MEMORY.md with a distilled set of facts (markdown). The old file is kept "
    "as a dated backup; the daily logs are never changed. Secrets are masked.",
    obj(("text",), text={"type": "string", "description": "The whole new MEMORY.md."}),
    _rewrite_tool,
)
