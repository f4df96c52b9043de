"""The distill routine end to end, `validate --explain` on both routines, and `routines add`
under active hours.

The scripted model does what the routine's description says: it lists
memory/, reads the daily log written since the task's Last run and the
current MEMORY.md, and rewrites MEMORY.md from what it read (so the facts
come from the real tool answers, a secret in a log included).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from localhb.cli import main
from tests.scripted_llm import Recorded, ScriptedLLM, tool_message

SECRET = "sk-live0123456789abcdefXYZ"
DISTILL = """## Pending

### Memory distillation
- Recurring: daily at 02:00
- Routine: distill
- Tools: files, memory, distill
- Last run: 2030-01-09 02:05 (ok)
- Description: distil the daily logs since the Last run into MEMORY.md

### Water the plants
- Recurring: daily at 11:00
- Description: check the plants

## Completed
"""


def make_home(tmp_path: Path, server: ScriptedLLM | None = None, **heartbeat: Any) -> Path:
    home = tmp_path / "home"
    (home / "workspace").mkdir(parents=True)
    (home / "workspace" / "HEARTBEAT.md").write_text(DISTILL)
    config: dict[str, Any] = {"heartbeat": {"timezone": "Europe/Berlin", **heartbeat}}
    if server is not None:
        config["llm"] = {"base_url": server.base_url, "model": "m", "max_retries": 0}
    (home / "config.toml").write_text(tomli_w.dumps(config))
    return home


def last_tool_text(request: Recorded) -> str:
    sent = [m for m in request.messages if m.get("role") == "tool"]
    return "\n".join(str(sent[-1]["content"]).splitlines()[1:-1])


def test_distill_reads_the_logs_since_its_last_run_and_keeps_no_secret(
    tmp_path: Path, server: ScriptedLLM, capsys: pytest.CaptureFixture[str]
) -> None:
    """The model reads the new daily log through the files tools; the facts it writes from
    it are redacted, the old MEMORY.md is backed up, the logs stay as they were."""
    home = make_home(tmp_path, server)
    ws = home / "workspace"
    (ws / "memory").mkdir()
    old = ws / "memory" / "2030-01-08.md"
    old.write_text("# 2030-01-08\n- 11:00 water-the-plants: watered (already distilled)\n")
    new = ws / "memory" / "2030-01-09.md"
    new.write_text(
        "# 2030-01-09\n- 11:00 water-the-plants: the basil wilts in the sun\n"
        f"- 12:00 shop: paid with key {SECRET}\n"
    )
    (ws / "MEMORY.md").write_text("# Memory\n- The plants are on the balcony.\n")
    logs_before = {p.name: p.read_text() for p in (ws / "memory").iterdir()}
    seen: dict[str, str] = {}
    server.respond(lambda _: tool_message("list_dir", {"path": "memory"}))

    def read_new(request: Recorded) -> dict[str, Any]:
        listing = last_tool_text(request)
        assert "2030-01-09.md" in listing and "2030-01-08.md" in listing
        return tool_message("read_file", {"path": "memory/2030-01-09.md"}, "call_1")

    def read_memory(request: Recorded) -> dict[str, Any]:
        seen["log"] = last_tool_text(request)
        return tool_message("read_file", {"path": "MEMORY.md"}, "call_2")

    def rewrite(request: Recorded) -> dict[str, Any]:
        seen["memory"] = last_tool_text(request)
        kept = [ln for ln in seen["memory"].splitlines() if ln.lstrip().startswith("- ")]
        found = [ln.split(": ", 1)[1] for ln in seen["log"].splitlines() if ": " in ln]
        facts = "# Facts\n" + "".join(f"{ln.strip()}\n" for ln in kept)
        facts += "".join(f"- {f.strip()}\n" for f in found)
        return tool_message("memory_rewrite", {"text": facts}, "call_3")

    server.respond(read_new).respond(read_memory).respond(rewrite)
    server.complete("ok", "distilled the log of 2030-01-09")
    code = main(["--home", str(home), "daemon", "heartbeat", "--now", "2030-01-10 02:05"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "memory-distillation: ok - distilled the log of 2030-01-09" in out
    assert server.unexpected == []
    offered = {t["function"]["name"] for t in server.requests[0].body["tools"]}
    assert {"read_file", "list_dir", "memory_rewrite"} <= offered
    assert not offered & {"write_file", "edit_file", "run_command"}  # no other way to write
    prompt = json.dumps(server.requests[0].messages)
    assert "Last run: 2030-01-09 02:05 (ok)" in prompt  # how it knows which logs are new
    facts = (ws / "MEMORY.md").read_text()
    assert "- The plants are on the balcony." in facts
    assert "the basil wilts in the sun" in facts
    assert "already distilled" not in facts
    assert SECRET not in facts and "[REDACTED" in facts
    (backup,) = (ws / "memory" / "backups").iterdir()
    assert backup.read_text() == "# Memory\n- The plants are on the balcony.\n"
    logs_after = {p.name: p.read_text() for p in (ws / "memory").iterdir() if p.is_file()}
    assert set(logs_before) <= set(logs_after)
    for name, text in logs_before.items():
        assert logs_after[name] == text
    # Nothing else the model was sent carries the secret either.
    assert all(SECRET not in r.raw.decode() for r in server.requests)


def test_explain_says_both_routines_use_the_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`validate --explain`: distill uses the model; audit checks in code first."""
    home = make_home(tmp_path)
    (home / "workspace" / "HEARTBEAT.md").write_text("## Pending\n\n## Completed\n")
    assert main(["--home", str(home), "routines", "add", "distill"]) == 0
    assert main(["--home", str(home), "routines", "add", "audit"]) == 0
    capsys.readouterr()
    assert main(["--home", str(home), "validate", "--explain"]) == 0
    out = capsys.readouterr().out
    distill = next(ln for ln in out.splitlines() if "'memory-distillation'" in ln)
    audit = next(ln for ln in out.splitlines() if "'self-audit'" in ln)
    assert "daily at 02:00, uses the model (tokens)" in distill
    assert "hourly, checks in code first (0 tokens), then uses the model (tokens) when met" in (
        audit
    )


def test_routines_add_warns_when_active_hours_hold_every_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """distill's 02:00 outside active hours 09:00-22:00: added, with the next real run and a
    warning how to choose its time; the hourly audit (inside them) gets none."""
    home = make_home(tmp_path, active_hours={"start": "09:00", "end": "22:00"})
    (home / "workspace" / "HEARTBEAT.md").write_text("## Pending\n\n## Completed\n")
    assert main(["--home", str(home), "routines", "add", "distill"]) == 0
    out = capsys.readouterr().out
    assert "held by active hours until" in out
    assert "warning: daily at 02:00 falls outside [heartbeat] active_hours" in out
    assert "edit its `- Recurring:` line" in out
    assert main(["--home", str(home), "routines", "add", "audit"]) == 0
    assert "warning:" not in capsys.readouterr().out
    args = ["--home", str(home), "routines", "add", "distill", "--at", "daily at 21:30"]
    (home / "workspace" / "HEARTBEAT.md").write_text("## Pending\n\n## Completed\n")
    assert main(args) == 0
    assert "warning:" not in capsys.readouterr().out
