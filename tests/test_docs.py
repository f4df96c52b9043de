"""Docs that could drift are generated or checked against the code."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_cli_reference_is_current() -> None:
    """docs/cli.md is exactly what scripts/gen_cli_doc.py renders from --help."""
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; sys.path.insert(0, 'scripts');"
            "import gen_cli_doc; sys.stdout.write(gen_cli_doc.render())",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert (ROOT / "docs" / "cli.md").read_text(encoding="utf-8") == out, (
        "docs/cli.md is stale: run `python scripts/gen_cli_doc.py`"
    )


def test_configuration_doc_names_every_example_key() -> None:
    """Every key in config.toml.example is described in docs/configuration.md."""
    example = (ROOT / "config.toml.example").read_text(encoding="utf-8")
    doc = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    keys = set(re.findall(r"^#? ?(\w+) = ", example, re.M))
    missing = sorted(k for k in keys if not re.search(rf"`[^`\n]*\b{k}`", doc))
    assert not missing, f"undocumented keys: {missing}"


def test_doc_links_resolve() -> None:
    """Relative links between README and docs point at files that exist."""
    for page in [ROOT / "README.md", *(ROOT / "docs").glob("*.md")]:
        for target in re.findall(r"\]\(([^)#:]+\.(?:md|example))\)", page.read_text("utf-8")):
            assert (page.parent / target).exists(), f"{page.name} links to missing {target}"
