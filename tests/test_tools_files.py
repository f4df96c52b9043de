"""File tools and the path policy: the workspace is the fence, symlinks included."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from localhb.agent.tools import CallStatus, Outcome, ToolContext, task_toolbox
from localhb.config import Config
from tests.scripted_llm import make_config, make_context


@pytest.fixture
def config(tmp_path: Path) -> Config:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("top secret\n")
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "data.txt").write_text("shared data\n")
    return make_config(
        tmp_path, "http://127.0.0.1:9/v1", tools={"allowed_directories": [str(shared)]}
    )


@pytest.fixture
def ctx(config: Config) -> ToolContext:
    protected = (config.heartbeat.file,)
    return make_context(config, protected=protected)


def call(ctx: ToolContext, name: str, **args: object) -> Outcome:
    import json

    return task_toolbox(ctx.config).call(name, json.dumps(args), ctx)


@pytest.mark.parametrize(
    "path",
    ["../outside/secret.txt", "{root}/outside/secret.txt", "sub/../../outside/secret.txt", "~/x"],
)
def test_paths_outside_are_refused(ctx: ToolContext, tmp_path: Path, path: str) -> None:
    """`..`, absolute paths and `~` outside the roots are refused with a clear message."""
    outcome = call(ctx, "read_file", path=path.format(root=tmp_path))
    assert outcome.status is CallStatus.REFUSED
    assert "outside the workspace" in outcome.content
    assert "top secret" not in outcome.content


def test_symlink_out_is_refused(ctx: ToolContext, tmp_path: Path) -> None:
    """A link inside the workspace pointing outside is followed before the check."""
    ws = ctx.paths.workspace
    (ws / "link.txt").symlink_to(tmp_path / "outside" / "secret.txt")
    (ws / "linkdir").symlink_to(tmp_path / "outside")
    for name, args in [
        ("read_file", {"path": "link.txt"}),
        ("write_file", {"path": "linkdir/new.txt", "content": "x"}),
        ("list_dir", {"path": "linkdir"}),
    ]:
        assert call(ctx, name, **args).status is CallStatus.REFUSED
    assert not (tmp_path / "outside" / "new.txt").exists()


def test_symlink_inside_is_fine(ctx: ToolContext) -> None:
    """A link that stays inside the workspace works as the file it points to."""
    ws = ctx.paths.workspace
    (ws / "real.txt").write_text("inside\n")
    (ws / "alias.txt").symlink_to(ws / "real.txt")
    assert call(ctx, "read_file", path="alias.txt").content == "inside\n"


def test_allowed_directories(ctx: ToolContext, tmp_path: Path) -> None:
    """[tools] allowed_directories are usable like the workspace, by absolute path."""
    outcome = call(ctx, "read_file", path=str(tmp_path / "shared" / "data.txt"))
    assert outcome.ok and outcome.content == "shared data\n"


def test_heartbeat_file_is_read_only(ctx: ToolContext, config: Config) -> None:
    """HEARTBEAT.md may be read but never written or edited by a tool."""
    config.heartbeat.file.write_text("## Pending\n### A\n")
    assert call(ctx, "read_file", path="HEARTBEAT.md").ok
    for name, args in [
        ("write_file", {"path": "HEARTBEAT.md", "content": ""}),
        ("edit_file", {"path": "HEARTBEAT.md", "old_text": "A", "new_text": "B"}),
    ]:
        outcome = call(ctx, name, **args)
        assert outcome.status is CallStatus.REFUSED and "managed by localhb" in outcome.content
    assert config.heartbeat.file.read_text() == "## Pending\n### A\n"


def test_write_then_read(ctx: ToolContext) -> None:
    """write_file creates parents and reports what it did; read_file gets it back."""
    outcome = call(ctx, "write_file", path="notes/today.md", content="héllo\n")
    assert outcome.ok and outcome.content == "created notes/today.md (7 bytes)"
    assert call(ctx, "write_file", path="notes/today.md", content="x").content.startswith(
        "replaced"
    )
    assert call(ctx, "read_file", path="notes/today.md").content == "x"


def test_read_file_pages_and_caps(ctx: ToolContext) -> None:
    """offset/limit select lines; a long file is cut with a note."""
    ws = ctx.paths.workspace
    (ws / "lines.txt").write_text("".join(f"line {n}\n" for n in range(1, 11)))
    assert call(ctx, "read_file", path="lines.txt", offset=3, limit=2).content == (
        "line 3\nline 4\n"
    )
    (ws / "big.txt").write_text("a" * 40_000 + "THE END")
    content = call(ctx, "read_file", path="big.txt").content
    assert "bytes not shown" in content and content.endswith("THE END")
    assert len(content.encode()) < ctx.config.max_output_bytes + 200
    (ws / "blob.bin").write_bytes(b"\x00\x01\x02")
    assert "binary file" in call(ctx, "read_file", path="blob.bin").content


def test_read_file_failures(ctx: ToolContext) -> None:
    """A missing file or a directory is an error the model can act on."""
    missing = call(ctx, "read_file", path="nope.md")
    assert missing.status is CallStatus.ERROR and "no such file: nope.md" in missing.content
    assert "use list_dir" in call(ctx, "read_file", path=".").content


def test_edit_file_exact_unique_replace(ctx: ToolContext) -> None:
    """edit_file replaces one exact occurrence and says where."""
    (ctx.paths.workspace / "todo.md").write_text("- [ ] milk\n- [ ] eggs\n")
    outcome = call(ctx, "edit_file", path="todo.md", old_text="- [ ] eggs", new_text="- [x] eggs")
    assert outcome.ok and outcome.content == "edited todo.md at line 2"
    assert (ctx.paths.workspace / "todo.md").read_text() == "- [ ] milk\n- [x] eggs\n"


def test_edit_file_not_found_or_not_unique(ctx: ToolContext) -> None:
    """A missing or repeated old_text fails clearly and changes nothing."""
    path = ctx.paths.workspace / "todo.md"
    path.write_text("- [ ] milk\n- [ ] milk\nsome  spaced text\n")
    before = path.read_text()
    missing = call(ctx, "edit_file", path="todo.md", old_text="bread", new_text="x")
    assert missing.status is CallStatus.ERROR and "was not found" in missing.content
    twice = call(ctx, "edit_file", path="todo.md", old_text="milk", new_text="x")
    assert "occurs 2 times" in twice.content
    spacing = call(ctx, "edit_file", path="todo.md", old_text="some spaced text", new_text="x")
    assert "different spacing" in spacing.content
    assert path.read_text() == before


def test_list_dir(ctx: ToolContext) -> None:
    """list_dir shows directories with a slash and files with sizes, sorted."""
    ws = ctx.paths.workspace
    (ws / "b.txt").write_text("12345")
    (ws / "a").mkdir()
    assert call(ctx, "list_dir").content == ".: 2 entries\na/\nb.txt (5 bytes)"
    assert call(ctx, "list_dir", path="b.txt").status is CallStatus.ERROR


def test_a_tool_that_raises_becomes_an_error_message(ctx: ToolContext) -> None:
    """An unexpected exception inside a tool is an error outcome, not a crash."""
    from localhb.agent.tools import Tool, Toolbox
    from localhb.agent.tools.base import obj

    def explode(_ctx: ToolContext, _args: object) -> str:
        raise RuntimeError("disk on fire")

    box = Toolbox((Tool("explode", "always fails", obj(), explode),))
    outcome = box.call("explode", "{}", ctx)
    assert outcome.status is CallStatus.ERROR
    assert outcome.content == "error: explode failed: RuntimeError: disk on fire"


def test_workspace_relative_paths_ignore_the_process_cwd(
    ctx: ToolContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Relative paths are taken from the workspace whatever the process cwd is."""
    monkeypatch.chdir(tmp_path / "outside")
    (ctx.paths.workspace / "here.txt").write_text("ws\n")
    assert call(ctx, "read_file", path="here.txt").content == "ws\n"
    assert os.getcwd() == str(tmp_path / "outside")


@pytest.mark.parametrize(
    "path",
    [".git/config", ".git/hooks/pre-commit", "repo/.git/config", ".hg/hgrc", ".svn/x", ".git"],
)
def test_vcs_metadata_is_never_written(ctx: ToolContext, path: str) -> None:
    """write_file and edit_file refuse .git/ (and .hg/, .svn/, ...): its config runs commands."""
    target = ctx.paths.workspace / path
    target.parent.mkdir(parents=True, exist_ok=True)
    outcome = call(ctx, "write_file", path=path, content='[core]\n\tfsmonitor = "touch pwned"\n')
    assert outcome.status is CallStatus.REFUSED and "version-control" in outcome.content
    assert not target.exists()
    target.write_text("old\n")
    edit = call(ctx, "edit_file", path=path, old_text="old", new_text="new")
    assert edit.status is CallStatus.REFUSED and target.read_text() == "old\n"
    assert call(ctx, "read_file", path=path).ok  # reading is fine


def test_vcs_metadata_through_a_symlink_is_refused(ctx: ToolContext) -> None:
    """A link into .git/ resolves before the check, so it is refused too."""
    (ctx.paths.workspace / ".git").mkdir()
    (ctx.paths.workspace / "innocent").symlink_to(ctx.paths.workspace / ".git")
    outcome = call(ctx, "write_file", path="innocent/config", content="x")
    assert outcome.status is CallStatus.REFUSED


def test_vcs_metadata_allowed_when_listed(tmp_path: Path) -> None:
    """Listing the .git directory in allowed_directories is the explicit way to allow it."""
    git = tmp_path / "workspace" / ".git"
    git.mkdir(parents=True)
    config = make_config(
        tmp_path, "http://127.0.0.1:9/v1", tools={"allowed_directories": [str(git)]}
    )
    outcome = call(make_context(config), "write_file", path=".git/description", content="x")
    assert outcome.ok


def test_read_file_refuses_a_fifo_without_waiting(ctx: ToolContext) -> None:
    """A FIFO in the workspace is refused at once (issue 11 D12), not read forever."""
    os.mkfifo(ctx.paths.workspace / "pipe")
    outcome = call(ctx, "read_file", path="pipe")
    assert outcome.status is CallStatus.ERROR
    assert "pipe is a FIFO (named pipe); only regular files are read" in outcome.content
    paged = call(ctx, "read_file", path="pipe", offset=2, limit=1)
    assert paged.status is CallStatus.ERROR and "FIFO" in paged.content


def test_read_file_of_a_huge_file_reads_only_the_cap(ctx: ToolContext) -> None:
    """A 1 GiB file costs the cap, not a gigabyte (issue 11 D13): head and tail,
    and a page of one endless line is cut at the cap."""
    import tracemalloc

    big = ctx.paths.workspace / "huge.log"
    with big.open("wb") as fh:
        fh.write(b"first line\n" + b"a" * 9000)
        fh.truncate(1 << 30)  # sparse: the rest reads as NUL bytes
        fh.seek((1 << 30) - 8)
        fh.write(b"THE END\n")
    cap = ctx.config.max_output_bytes
    tracemalloc.start()
    try:
        whole = call(ctx, "read_file", path="huge.log").content
        page = call(ctx, "read_file", path="huge.log", offset=2, limit=1).content
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert whole.startswith("first line\n") and whole.endswith("THE END\n")
    assert f"of {1 << 30:,} bytes not shown" in whole
    assert page.startswith("aaaa") and f"cut at {cap:,} bytes" in page
    assert peak < 20 * cap


def test_read_file_pages_count_lines(ctx: ToolContext) -> None:
    """Paging past the end says how many lines there are, with or without a final newline."""
    ws = ctx.paths.workspace
    (ws / "two.txt").write_text("a\nb\n")
    (ws / "partial.txt").write_text("a\nb")
    assert call(ctx, "read_file", path="two.txt", offset=5).content == (
        "two.txt has 2 lines; nothing at line 5"
    )
    assert "has 2 lines" in call(ctx, "read_file", path="partial.txt", offset=3).content
    assert call(ctx, "read_file", path="partial.txt", offset=2).content == "b"


def test_edit_file_refuses_a_fifo_without_waiting(ctx: ToolContext) -> None:
    """edit_file on a FIFO is refused at once, not read forever (issue 11 D12)."""
    os.mkfifo(ctx.paths.workspace / "pipe")
    outcome = call(ctx, "edit_file", path="pipe", old_text="a", new_text="b")
    assert outcome.status is CallStatus.ERROR and "is a FIFO (named pipe)" in outcome.content
