"""agent.tools.paths: the fence file tools live in, checked after resolving links."""

from __future__ import annotations

from pathlib import Path

import pytest

from localhb.agent.tools.paths import VCS_DIRS, PathPolicy
from localhb.core.errors import ToolError


@pytest.fixture
def policy(tmp_path: Path) -> PathPolicy:
    ws = tmp_path / "ws"
    (ws / ".git").mkdir(parents=True)
    shared = tmp_path / "shared"
    shared.mkdir()
    (tmp_path / "outside").mkdir()
    (ws / "HEARTBEAT.md").write_text("## Pending\n")
    (ws / "key").write_text("sk-secret")
    return PathPolicy.build(ws, [shared], [ws / "HEARTBEAT.md"], secret=[ws / "key"])


def refused(call: object, *args: str) -> ToolError:
    with pytest.raises(ToolError) as caught:
        call(*args, tool="read_file")  # type: ignore[operator]
    return caught.value


def test_relative_paths_resolve_in_the_workspace(policy: PathPolicy) -> None:
    assert policy.resolve("notes.md", tool="read_file") == policy.workspace / "notes.md"
    assert policy.resolve("a/../b.md", tool="read_file") == policy.workspace / "b.md"
    assert policy.roots[0] == policy.workspace and len(policy.roots) == 2
    assert policy.show(policy.workspace / "sub" / "x.md") == "sub/x.md"
    assert policy.show(policy.workspace) == "."
    assert policy.show(policy.allowed[0] / "y") == str(policy.allowed[0] / "y")


@pytest.mark.parametrize("raw", ["../outside/x", "{tmp}/outside/x", "link/x"])
def test_outside_every_root_is_refused(policy: PathPolicy, tmp_path: Path, raw: str) -> None:
    (policy.workspace / "link").symlink_to(tmp_path / "outside")
    exc = refused(policy.resolve, raw.format(tmp=tmp_path))
    assert exc.refused and "outside the workspace and allowed directories" in str(exc)


@pytest.mark.parametrize(("raw", "words"), [("  ", "empty"), ("a\x00b", "NUL")])
def test_empty_and_nul_paths_are_errors(policy: PathPolicy, raw: str, words: str) -> None:
    exc = refused(policy.resolve, raw)
    assert words in str(exc) and not exc.refused


def test_the_key_file_is_neither_readable_nor_writable(policy: PathPolicy) -> None:
    for call in (policy.resolve, policy.writable):
        exc = refused(call, "key")
        assert "[llm] api_key_file" in str(exc) and "sk-secret" not in str(exc)


def test_protected_and_vcs_files_are_readable_but_not_writable(policy: PathPolicy) -> None:
    assert policy.resolve("HEARTBEAT.md", tool="read_file").name == "HEARTBEAT.md"
    assert "managed by localhb" in str(refused(policy.writable, "HEARTBEAT.md"))
    assert policy.resolve(".git/config", tool="read_file").name == "config"
    assert "inside .git/" in str(refused(policy.writable, ".git/hooks/pre-commit"))
    assert policy.writable("notes.md", tool="write_file").name == "notes.md"
    assert ".git" in VCS_DIRS and ".hg" in VCS_DIRS


def test_a_vcs_directory_named_in_allowed_is_writable(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    repo = ws / ".git"
    repo.mkdir(parents=True)
    policy = PathPolicy.build(ws, [repo])
    assert policy.writable(".git/info/exclude", tool="write_file") == repo / "info" / "exclude"
    assert policy.vcs_part(repo / "x") is None
    assert PathPolicy.build(ws).vcs_part((repo / "x").resolve()) == ".git"
