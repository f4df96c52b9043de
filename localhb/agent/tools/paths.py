"""Where file tools may go: the workspace and `[tools] allowed_directories`.

A path the model gives is expanded (`~`), made absolute against the workspace
and resolved (`..` and every symlink) *before* it is checked, so neither
`../`, an absolute path nor a link pointing outside gets through. Some files
inside the roots are readable but never writable: HEARTBEAT.md, which the
runner edits, and localhb's own configuration and state.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from localhb.core.errors import ToolError


@dataclass(frozen=True, slots=True)
class PathPolicy:
    """The roots a tool may touch, and files it may read but never change."""

    workspace: Path
    allowed: tuple[Path, ...] = ()
    protected: tuple[Path, ...] = ()

    @classmethod
    def build(
        cls, workspace: Path, allowed: Sequence[Path] = (), protected: Sequence[Path] = ()
    ) -> PathPolicy:
        return cls(
            workspace=workspace.expanduser().resolve(),
            allowed=tuple(p.expanduser().resolve() for p in allowed),
            protected=tuple(p.expanduser().resolve() for p in protected),
        )

    @property
    def roots(self) -> tuple[Path, ...]:
        return (self.workspace, *self.allowed)

    def resolve(self, raw: str, *, tool: str) -> Path:
        """The real path `raw` names, or ToolError(refused) when it lies outside every root."""
        if not raw.strip():
            raise ToolError("the path is empty", tool=tool)
        if "\x00" in raw:
            raise ToolError("the path contains a NUL character", tool=tool)
        given = Path(os.path.expanduser(raw.strip()))
        if not given.is_absolute():
            given = self.workspace / given
        real = given.resolve()
        if not any(real == root or real.is_relative_to(root) for root in self.roots):
            where = ", ".join(str(r) for r in self.roots)
            raise ToolError(
                f"refused: {raw!r} resolves to {real}, outside the workspace and allowed "
                f"directories ({where}); use a path inside them",
                tool=tool,
                refused=True,
            )
        return real

    def writable(self, raw: str, *, tool: str) -> Path:
        """As `resolve`, and also refuses the files localhb itself manages."""
        real = self.resolve(raw, tool=tool)
        if real in self.protected:
            raise ToolError(
                f"refused: {real.name} is managed by localhb and cannot be changed by a task; "
                "report what should change in complete_task's notes instead",
                tool=tool,
                refused=True,
            )
        return real

    def show(self, path: Path) -> str:
        """A path as the model should see it: relative to the workspace when inside it."""
        if path.is_relative_to(self.workspace):
            rel = path.relative_to(self.workspace).as_posix()
            return rel or "."
        return str(path)
