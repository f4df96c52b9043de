"""Docs that could drift are generated or checked against the code."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

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


def _subcommands() -> dict[str, set[str]]:
    """Each command of the CLI with its subcommands (from the real argparse parser)."""
    import argparse

    from localhb.cli import build_parser

    def subs(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                return dict(action.choices)
        return {}

    return {name: set(subs(p)) for name, p in subs(build_parser()).items()}


COMMAND = re.compile(
    r"(?:^|[ \t;&|(])localhb((?:[ \t]+--?[\w-]+(?:[ \t]+\S+)?)*)"
    r"[ \t]+([a-z]+)(?:[ \t]+([a-z]+))?"
)


def test_commands_in_the_docs_exist() -> None:
    """Every `localhb CMD [SUB]` in a sh block of README and docs/ is a real command."""
    known = _subcommands()
    for page in [ROOT / "README.md", *(ROOT / "docs").glob("*.md")]:
        text = page.read_text("utf-8")
        for block in re.findall(r"```sh\n(.*?)```", text, re.S):
            for m in COMMAND.finditer(block):
                opts, cmd, sub = m.group(1), m.group(2), m.group(3)
                if "--home" not in opts and "--config" not in opts and opts.strip():
                    continue
                assert cmd in known, f"{page.name}: `localhb {cmd}` is not a command"
                if known[cmd] and sub is not None and not sub.startswith("-"):
                    assert sub in known[cmd], f"{page.name}: `localhb {cmd} {sub}` is unknown"


def test_the_json_of_deliveries_and_routines_is_documented(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The keys docs/cli.md gives for `deliveries --json` and `routines list --json` are
    the keys they print."""
    from dataclasses import fields

    from localhb.cli import main
    from localhb.state.deliveries import Delivery
    from tests.test_budget import documented_keys

    assert {f.name for f in fields(Delivery)} == documented_keys("deliveries")[0]
    assert main(["--home", str(tmp_path), "init"]) == 0
    capsys.readouterr()
    assert main(["--home", str(tmp_path), "routines", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed and all(set(r) == documented_keys("routines list")[0] for r in listed)
