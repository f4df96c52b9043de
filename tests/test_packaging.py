"""Packaging: templates ship inside the wheel; README and CI run the same commands."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_ships_templates(tmp_path: Path) -> None:
    """The built wheel holds localhb/templates/*, so `init` works when installed."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    wheel = next(tmp_path.glob("localhb-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {p.name for p in (ROOT / "templates").iterdir() if p.is_file()}
    assert shipped and {f"localhb/templates/{n}" for n in shipped} <= names


def test_ci_runs_the_readme_test_command() -> None:
    """.ci/run executes exactly the README's test command."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = re.findall(r"```sh\n(python3 -m venv .+?)\n", readme.replace("   ", ""))
    assert len(commands) == 2, "the quick start has exactly two set-up commands"
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert commands[1] in ci
    assert ci.rstrip().endswith(commands[1]), "the README's command is what CI ends with"


def test_ci_installs_bubblewrap_as_the_readme_says() -> None:
    """.ci/run installs bubblewrap before the tests, as the README says the sandbox tests need."""
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "apt-get install -y -qq bubblewrap" in ci
    assert ci.index("bubblewrap") < ci.index("pytest")
    assert "apt-get install bubblewrap" in readme and ".ci/run" in readme
