"""The code is kept to its own standards: ruff (lint and format), mypy --strict and the
import-linter layers contract in pyproject.toml."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    path = BIN / name
    found = str(path) if path.exists() else shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed (pip install -e '.[test]')")
    return found


@pytest.mark.parametrize(
    "argv",
    [
        ["ruff", "check", "localhb", "tests", "bench", "scripts"],
        ["ruff", "format", "--check", "localhb", "tests", "bench", "scripts"],
        ["mypy"],
        ["lint-imports"],
    ],
    ids=["ruff-check", "ruff-format", "mypy", "import-linter"],
)
def test_clean(argv: list[str]) -> None:
    """The tool reports nothing."""
    done = subprocess.run([tool(argv[0]), *argv[1:]], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
