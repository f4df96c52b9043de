"""Where file tools may go: the workspace and `[tools] allowed_directories`.

A path the model gives is expanded (`~`), made absolute against the workspace
and resolved (`..` and every symlink) *before* it is checked, so neither
`../`, an absolute path nor a link pointing outside gets through. Some files
inside the roots are readable but never writable: HEARTBEAT.md, which the
runner edits, localhb's own configuration and state, and anything inside
version-control metadata (`.git/`, `.hg/`, ...: their config and hooks run
commands). The API key file is neither readable nor writable.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from localhb.core.errors import ToolError

# Directories whose contents a version-control tool reads as configuration or runs
# as hooks. File tools never write inside them unless allowed_directories names one.
VCS_DIRS = frozenset({".git", ".hg", ".svn", ".bzr", "_darcs", ".jj", ".pijul", ".fossil"})


@dataclass(frozen=True, slots=True)
class PathPolicy:
    """The roots a tool may touch, and files it may read but never change."""

    workspace: Path
    allowed: tuple[Path, ...] = ()
    protected: tuple[Path, ...] = ()
    secret: tuple[Path, ...] = ()  # neither readable nor writable (the API key file)

    @classmethod
    def build(
        cls,
        workspace: Path,
        allowed: Sequence[Path] = (),
        protected: Sequence[Path] = (),
        *,
        secret: Sequence[Path] = (),
    ) -> PathPolicy:
        return cls(
            workspace=workspace.expanduser().resolve(),
            allowed=tuple(p.expanduser().resolve() for p in allowed),
            protected=tuple(p.expanduser().resolve() for p in protected),
            secret=tuple(p.expanduser().resolve() for p in secret),
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
        if any(real == s or real.is_relative_to(s) for s in self.secret):
            raise ToolError(
                f"refused: {raw!r} holds the API key ([llm] api_key_file); it is never shown",
                tool=tool,
                refused=True,
            )
        return real

    def writable(self, raw: str, *, tool: str) -> Path:
        """As `resolve`, and also refuses the files localhb itself manages."""
        real = self.resolve(raw, tool=tool)
        vcs = self.vcs_part(real)
        if vcs is not None:
            raise ToolError(
                f"refused: {self.show(real)} is inside {vcs}/, version-control metadata: a "
                "change there can make git (or hg, svn) run a command. Change the working "
                "files instead, or list that directory in [tools] allowed_directories",
                tool=tool,
                refused=True,
            )
        if real in self.protected:
            raise ToolError(
                f"refused: {real.name} is managed by localhb and cannot be changed by a task; "
                "report what should change in complete_task's notes instead",
                tool=tool,
                refused=True,
            )
        return real

    def vcs_part(self, real: Path) -> str | None:
        """The VCS metadata directory name `real` lies in, unless explicitly allowed."""
        for n, part in enumerate(real.parts):
            if part in VCS_DIRS:
                holder = Path(*real.parts[: n + 1])
                if any(a == holder or a.is_relative_to(holder) for a in self.allowed):
                    return None
                return part
        return None

    def show(self, path: Path) -> str:
        """A path as the model should see it: relative to the workspace when inside it."""
        if path.is_relative_to(self.workspace):
            rel = path.relative_to(self.workspace).as_posix()
            return rel or "."
        return str(path)
