"""Find the files shipped in `templates/` (inside the wheel: `localhb/templates`)."""

from __future__ import annotations

from pathlib import Path


def templates_dir() -> Path:
    """The templates directory of the installed package, or of the source tree."""
    packaged = Path(__file__).resolve().parent.parent / "templates"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "templates"


def read_template(name: str) -> str:
    return (templates_dir() / name).read_text(encoding="utf-8")
