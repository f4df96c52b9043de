"""read_file, write_file, edit_file and list_dir: files inside the allowed roots only."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from localhb.agent.tools.base import Tool, ToolContext, cap_bytes, obj
from localhb.core.errors import ToolError

MAX_LIST_ENTRIES = 500
_PATH = {"type": "string"}  # relative to the workspace, or absolute: the system prompt says so


def read_file(ctx: ToolContext, args: Mapping[str, Any]) -> str:
    path = ctx.paths.resolve(args["path"], tool="read_file")
    if path.is_dir():
        raise ToolError(f"{ctx.paths.show(path)} is a directory; use list_dir", tool="read_file")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ToolError(f"no such file: {ctx.paths.show(path)}", tool="read_file") from None
    if b"\x00" in data[:8192]:
        return f"{ctx.paths.show(path)} is a binary file ({len(data):,} bytes); not shown"
    offset = int(args.get("offset", 1))
    limit = args.get("limit")
    if offset > 1 or limit is not None:
        lines = data.decode("utf-8", errors="replace").splitlines(keepends=True)
        end = len(lines) if limit is None else offset - 1 + int(limit)
        chosen = lines[offset - 1 : end]
        if not chosen:
            return f"{ctx.paths.show(path)} has {len(lines)} lines; nothing at line {offset}"
        data = "".join(chosen).encode("utf-8")
    return cap_bytes(data, ctx.config.max_output_bytes, what="file")


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
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ToolError(
            f"no such file: {ctx.paths.show(path)} (use write_file to create it)", tool="edit_file"
        ) from None
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
