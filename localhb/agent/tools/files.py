"""read_file, write_file, edit_file and list_dir: files inside the allowed roots only."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, BinaryIO

from localhb.agent.tools.base import Tool, ToolContext, head_size, join_cut, obj, tail_size
from localhb.core.bounded import NotReadable, open_regular, read_regular
from localhb.core.errors import ToolError

MAX_LIST_ENTRIES = 500
MAX_EDIT_BYTES = 8 * 1024 * 1024
"""edit_file edits files of at most 8 MiB (it holds the text twice)."""
_PATH = {"type": "string"}  # relative to the workspace, or absolute: the system prompt says so


def read_file(ctx: ToolContext, args: Mapping[str, Any]) -> str:
    """A regular file only (a FIFO or a device is refused, never waited on), and
    never more of it read than the output cap: the head and tail of a long file,
    or the lines `offset`/`limit` select, streamed."""
    path = ctx.paths.resolve(args["path"], tool="read_file")
    shown = ctx.paths.show(path)
    if path.is_dir():
        raise ToolError(f"{shown} is a directory; use list_dir", tool="read_file")
    offset = int(args.get("offset", 1))
    limit = args.get("limit")
    cap = ctx.config.max_output_bytes
    try:
        with open_regular(path) as (fd, info):
            if b"\x00" in os.pread(fd, 8192, 0):
                return f"{shown} is a binary file ({info.st_size:,} bytes); not shown"
            if offset > 1 or limit is not None:
                with open(fd, "rb", closefd=False) as fh:
                    return _page(fh, shown, offset, None if limit is None else int(limit), cap)
            return _head_and_tail(fd, info.st_size, cap)
    except FileNotFoundError:
        raise ToolError(f"no such file: {shown}", tool="read_file") from None
    except IsADirectoryError:
        raise ToolError(f"{shown} is a directory; use list_dir", tool="read_file") from None
    except NotReadable as exc:
        raise ToolError(f"{shown} {exc}", tool="read_file") from None
    except OSError as exc:
        raise ToolError(f"cannot read {shown}: {exc.strerror}", tool="read_file") from None


def _head_and_tail(fd: int, size: int, cap: int) -> str:
    """The whole file when it fits the cap, else its head and tail: `cap` bytes read."""
    if size <= cap:
        data = os.pread(fd, cap + 1, 0)  # a file that grew since fstat is cut below
        if len(data) <= cap:
            return data.decode("utf-8", errors="replace")
        size = max(size, len(data))
    head = os.pread(fd, head_size(cap), 0)
    tail = os.pread(fd, tail_size(cap), max(size - tail_size(cap), len(head)))
    return join_cut(head, tail, size, what="file")


def _page(fh: BinaryIO, shown: str, offset: int, limit: int | None, cap: int) -> str:
    """Lines `offset` to `offset + limit - 1`, read piece by piece (a line longer
    than the cap is not held whole), stopping once the cap is passed."""
    number, chosen, size, over = 1, [], 0, False
    piece = b""
    while True:
        piece = fh.readline(cap + 1)
        if not piece:
            break
        if number >= offset:
            chosen.append(piece)
            size += len(piece)
            if size > cap:
                over = True
                break
        if piece.endswith(b"\n"):
            number += 1
            if limit is not None and number >= offset + limit:
                break
    if not chosen:
        lines = number - 1 if _ended(fh) else number
        return f"{shown} has {lines} lines; nothing at line {offset}"
    data = b"".join(chosen)
    if over:
        return (
            data[:cap].decode("utf-8", errors="replace")
            + f"\n[... cut at {cap:,} bytes: ask for fewer lines (limit) ...]\n"
        )
    return data.decode("utf-8", errors="replace")


def _ended(fh: BinaryIO) -> bool:
    """Whether the file is empty or ends with a newline (no partial last line)."""
    end = fh.seek(0, os.SEEK_END)
    if end == 0:
        return True
    fh.seek(end - 1)
    return fh.read(1) == b"\n"


def write_file(ctx: ToolContext, args: Mapping[str, Any]) -> str:
    path = ctx.paths.writable(args["path"], tool="write_file")
    if path.is_dir():
        raise ToolError(f"{ctx.paths.show(path)} is a directory", tool="write_file")
    content: str = args["content"]
    path.parent.mkdir(parents=True, exist_ok=True)
    existed = path.exists()
    data = content.encode("utf-8")
    replace_atomically(path, data)
    verb = "replaced" if existed else "created"
    return f"{verb} {ctx.paths.show(path)} ({len(data):,} bytes)"


def edit_file(ctx: ToolContext, args: Mapping[str, Any]) -> str:
    path = ctx.paths.writable(args["path"], tool="edit_file")
    old: str = args["old_text"]
    new: str = args["new_text"]
    if not old:
        raise ToolError("old_text is empty; give the exact text to replace", tool="edit_file")
    try:
        text = read_regular(path, MAX_EDIT_BYTES).decode("utf-8")
    except FileNotFoundError:
        raise ToolError(
            f"no such file: {ctx.paths.show(path)} (use write_file to create it)", tool="edit_file"
        ) from None
    except NotReadable as exc:  # a FIFO or a device: refused, never waited on
        raise ToolError(f"{ctx.paths.show(path)} {exc}", tool="edit_file") from None
    except UnicodeDecodeError:
        raise ToolError(f"{ctx.paths.show(path)} is not UTF-8 text", tool="edit_file") from None
    count = text.count(old)
    if count == 0:
        hint = ""
        if " ".join(old.split()) in " ".join(text.split()):
            hint = " (it appears with different spacing or line breaks; copy it exactly)"
        raise ToolError(
            f"old_text was not found in {ctx.paths.show(path)}{hint}; read the file and "
            "copy the text exactly",
            tool="edit_file",
        )
    if count > 1:
        raise ToolError(
            f"old_text occurs {count} times in {ctx.paths.show(path)}; include more "
            "surrounding text so it matches exactly once",
            tool="edit_file",
        )
    replace_atomically(path, text.replace(old, new, 1).encode("utf-8"))
    line = text[: text.index(old)].count("\n") + 1
    return f"edited {ctx.paths.show(path)} at line {line}"


def list_dir(ctx: ToolContext, args: Mapping[str, Any]) -> str:
    path = ctx.paths.resolve(args.get("path", "."), tool="list_dir")
    if not path.is_dir():
        what = "a file" if path.exists() else "missing"
        raise ToolError(f"{ctx.paths.show(path)} is {what}, not a directory", tool="list_dir")
    entries = sorted(path.iterdir(), key=lambda p: p.name)
    lines = []
    for entry in entries[:MAX_LIST_ENTRIES]:
        if entry.is_dir():
            lines.append(entry.name + "/")
        else:
            try:
                size = entry.stat().st_size
            except OSError:  # a dangling symlink
                lines.append(f"{entry.name} (unreadable)")
                continue
            lines.append(f"{entry.name} ({size:,} bytes)")
    if len(entries) > MAX_LIST_ENTRIES:
        lines.append(f"[... {len(entries) - MAX_LIST_ENTRIES} more entries not shown ...]")
    head = f"{ctx.paths.show(path)}: {len(entries)} entries"
    return "\n".join([head, *lines])


def replace_atomically(path: os.PathLike[str], data: bytes) -> None:
    """Write to a sibling temporary file, then rename: readers never see half a file."""
    tmp = f"{os.fspath(path)}.localhb-tmp-{os.getpid()}"
    try:
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


READ_FILE = Tool(
    "read_file",
    "Read a text file (long files are cut; page with offset/limit lines).",
    obj(
        ("path",),
        path=_PATH,
        offset={"type": "integer", "minimum": 1},
        limit={"type": "integer", "minimum": 1},
    ),
    read_file,
)
WRITE_FILE = Tool(
    "write_file",
    "Create or replace a whole text file.",
    obj(("path", "content"), path=_PATH, content={"type": "string"}),
    write_file,
)
EDIT_FILE = Tool(
    "edit_file",
    "Replace the one exact occurrence of old_text with new_text.",
    obj(
        ("path", "old_text", "new_text"),
        path=_PATH,
        old_text={"type": "string"},
        new_text={"type": "string"},
    ),
    edit_file,
)
LIST_DIR = Tool(
    "list_dir",
    "List a directory (default: the workspace).",
    obj(path=_PATH),
    list_dir,
)
