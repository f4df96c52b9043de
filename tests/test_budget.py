"""`[budget]`: daily caps from the ledger's usage, skips with reason `budget`, `localhb usage`."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from localhb.cli import main
from localhb.config import BudgetConfig, Price, config_from_mapping, load_config
from localhb.core.errors import ConfigError
from localhb.cycle.runner import BudgetEvent, Runner
from localhb.format.parser import parse
from localhb.state.budget import day_start, tally
from localhb.state.ledger import Ledger
from tests.receivers import HTTPReceiver, http_receiver
from tests.scripted_llm import ScriptedLLM
from tests.test_commands import set_config
from tests.test_heartbeat import Run, hb_file, make_home, run

__all__ = ["run"]  # fixtures

THREE = """## Pending
### Alpha
- Recurring: every 1h
- Description: a
### Beta
- Recurring: every 1h
- Description: b
### Backup
- Recurring: every 1h
- Run: echo saved
## Completed
"""


def done(server: ScriptedLLM, summary: str, usage: tuple[int, int]) -> ScriptedLLM:
    """Queue a complete_task reply that reports `usage` tokens."""
    return server.call("complete_task", {"status": "ok", "summary": summary}, usage=usage)


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def cycle(home: Path, when: str, events: list[BudgetEvent] | None = None) -> list[str]:
    """One cycle through the runner at `when` (UTC); the lines it reports."""
    config = load_config(home=home)
    at = _at(when)
    runner = Runner(
        config, clock=lambda: at, on_budget=(events.append if events is not None else print)
    )
    report = runner.cycle(now=at)
    return [f"{r.task_id}: {r.status} - {r.summary}" for r in report.results]


def test_budget_keys_are_read_and_checked(tmp_path: Path) -> None:
    """[budget] keys parse; prices merge over the defaults; bad values name the key."""
    cfg = config_from_mapping(
        {
            "budget": {
                "daily_tokens": 50_000,
                "daily_cost": 1.5,
                "per_task_tokens": 9_000,
                "timezone": "Europe/Berlin",
                "prices": {"my-model": {"input": 1, "output": 2}},
            }
        },
        home=tmp_path,
    )
    b = cfg.budget
    assert (b.daily_tokens, b.daily_cost, b.per_task_tokens) == (50_000, 1.5, 9_000)
    assert cfg.agent.max_tokens_per_task == 9_000
    assert b.price("my-model") == Price(1.0, 2.0)
    assert b.price("gpt-4o-mini-2024-07-18") == b.price("gpt-4o-mini") is not None
    assert b.price("llama3") is None
    assert getattr(cfg.budget_tz(), "key", None) == "Europe/Berlin"
    old = config_from_mapping({"agent": {"max_tokens_per_task": 123}}, home=tmp_path)
    assert old.budget.per_task_tokens == old.agent.max_tokens_per_task == 123
    for bad, key in [
        ({"daily_tokens": 0}, "[budget] daily_tokens"),
        ({"daily_cost": "lots"}, "[budget] daily_cost"),
        ({"timezone": "Mars/Base"}, "[budget] timezone"),
        ({"prices": {"m": {"input": 1}}}, "[budget] prices.m"),
        ({"daly_tokens": 5}, "[budget] daly_tokens"),
    ]:
        with pytest.raises(ConfigError) as exc:
            config_from_mapping({"budget": bad}, home=tmp_path)
        assert key in str(exc.value)
    with pytest.raises(ConfigError, match="older name"):
        config_from_mapping(
            {"agent": {"max_tokens_per_task": 5}, "budget": {"per_task_tokens": 6}}, home=tmp_path
        )


def test_cap_reached_mid_day_skips_model_runs_but_not_commands(
    tmp_path: Path, server: ScriptedLLM, run: Run
) -> None:
    """Past daily_tokens no model run starts: skipped `budget`, recorded; Run: tasks go on."""
    home = make_home(tmp_path, server, THREE)
    set_config(home, budget={"daily_tokens": 1000})
    done(server, "a done", (600, 100))
    done(server, "b done", (600, 100))
    code, out, err = run(home, "--now", "2024-01-15 10:00")
    assert code == 0, err
    # alpha spent 700, then beta started under the cap and spent 700 more
    assert out.splitlines() == ["alpha: ok - a done", "beta: ok - b done", "backup: ok - saved"]
    assert len(server.requests) == 2
    code, out, _ = run(home, "--now", "2024-01-15 11:00")
    assert code == 0
    lines = sorted(out.splitlines())
    assert lines == [
        "alpha: skipped - budget: daily token cap reached: 1,400 of 1,000 tokens used today",
        "backup: ok - saved",
        "beta: skipped - budget: daily token cap reached: 1,400 of 1,000 tokens used today",
    ]
    assert len(server.requests) == 2  # nothing was sent past the cap
    with Ledger.open(home / "state.db") as ledger:
        assert ledger.skip_counts()["budget"].count == 2
        states = [(r.task_id, r.state) for r in ledger.runs() if r.task_id != "backup"]
    assert sorted(states) == [("alpha", "ok"), ("beta", "ok")]  # skipped runs were not claimed
    alpha = parse(hb_file(home).read_text()).task("alpha")
    assert alpha is not None and alpha.field("last run").value == "2024-01-15 10:00 (ok)"  # type: ignore[union-attr]


def test_localhb_run_is_held_by_the_cap_too(
    tmp_path: Path, server: ScriptedLLM, capsys: pytest.CaptureFixture[str]
) -> None:
    """`localhb run` of a model task past a cap does not start it (exit 1, says why and
    what to do); a `Run:` task still runs; `daemon status` says model runs are held."""
    home = make_home(tmp_path, server, THREE)
    set_config(home, budget={"daily_tokens": 500})
    done(server, "a done", (600, 100))
    assert main(["--home", str(home), "run", "alpha"]) == 0  # under the cap when it starts
    capsys.readouterr()
    assert main(["--home", str(home), "run", "beta"]) == 1
    out, err = capsys.readouterr()
    assert "= skipped: budget: daily token cap reached: 700 of 500 tokens used today" in out
    assert "[budget] holds model runs until the next budget day" in err
    assert len(server.requests) == 1  # nothing was sent past the cap
    assert main(["--home", str(home), "run", "backup"]) == 0
    assert "= ok: saved" in capsys.readouterr().out
    main(["--home", str(home), "daemon", "status"])  # no daemon runs here; the lines matter
    assert (
        "problem:     budget: model runs are held until the next budget day: daily token cap"
        in (capsys.readouterr().out)
    )


def test_one_notice_a_day_and_reset_at_local_midnight_across_dst(
    tmp_path: Path, server: ScriptedLLM
) -> None:
    """Budget days end at midnight in [budget] timezone, DST day included; one notice a day."""
    text = "## Pending\n### Alpha\n- Recurring: every 1h\n- Description: a\n"
    home = make_home(tmp_path, server, text)
    set_config(home, budget={"daily_tokens": 500, "timezone": "Europe/Berlin"})
    events: list[BudgetEvent] = []
    done(server, "spent", (500, 100))
    # 2024-03-30 is the Saturday before Berlin springs forward (the 31st has 23 hours)
    assert cycle(home, "2024-03-30 20:00", events) == ["alpha: ok - spent"]
    assert cycle(home, "2024-03-30 21:00", events)[0].startswith("alpha: skipped - budget:")
    assert cycle(home, "2024-03-30 22:30", events)[0].startswith("alpha: skipped - budget:")
    assert [(e.task_id, e.action, e.first_today) for e in events] == [
        ("alpha", "skipped", True),
        ("alpha", "skipped", False),
    ]
    # 23:30 UTC is 00:30 on the 31st in Berlin: a new budget day
    done(server, "new day", (500, 100))
    assert cycle(home, "2024-03-30 23:30", events) == ["alpha: ok - new day"]
    assert cycle(home, "2024-03-31 01:00", events)[0].startswith("alpha: skipped - budget:")
    assert events[-1].first_today is True  # the 31st's first notice
    assert len(events) == 3


def budget_messages(rec: HTTPReceiver) -> list[dict[str, Any]]:
    """The budget alerts a receiver got (an overdue alert may come too: two periods skipped)."""
    got = [r.json() for r in rec.requests if r.path == "/hook"]
    return [m for m in got if m["title"].startswith("localhb budget")]


def test_budget_cap_notifies_once_a_day_over_http(tmp_path: Path, server: ScriptedLLM) -> None:
    """The day's first budget skip sends one message to [notify] default; the next day, one more."""
    text = "## Pending\n### Alpha\n- Recurring: every 1h\n- Description: a\n"
    home = make_home(tmp_path, server, text)
    with http_receiver() as rec:
        set_config(
            home,
            budget={"daily_tokens": 500},
            notify={"timeout": "2s", "retries": 0, "targets": {"ops": f"json://{rec.base}/hook"}},
        )
        done(server, "spent", (500, 100))
        assert cycle(home, "2024-01-15 10:00") == ["alpha: ok - spent"]
        assert rec.requests == []  # an ok run without a message is not news
        for hour in ("11:00", "12:00", "13:00"):
            assert cycle(home, f"2024-01-15 {hour}")[0].startswith("alpha: skipped - budget:")
        got = budget_messages(rec)
        assert len(got) == 1, got
        assert got[0]["title"] == "localhb budget: alert"
        body = got[0]["message"]
        assert body.startswith("daily token cap reached: 600 of 500 tokens used today; alpha")
        assert "after 2024-01-15" in body and "localhb usage" in body
        done(server, "next day", (500, 100))
        assert cycle(home, "2024-01-16 10:00") == ["alpha: ok - next day"]
        assert cycle(home, "2024-01-16 11:00")[0].startswith("alpha: skipped - budget:")
        got = budget_messages(rec)
        assert len(got) == 2 and "after 2024-01-16" in got[1]["message"]
    assert len(server.requests) == 2  # the skipped runs sent nothing to the model


def test_run_crossing_the_cap_stops_partial_after_its_step(
    tmp_path: Path, server: ScriptedLLM
) -> None:
    """A run that crosses the daily cap finishes its step, then ends `partial` with the reason."""
    text = "## Pending\n### Long job\n- Description: many steps\n## Completed\n"
    home = make_home(tmp_path, server, text)
    (home / "workspace" / "a.txt").write_text("a")
    set_config(home, budget={"daily_tokens": 1000})
    events: list[BudgetEvent] = []
    for _ in range(2):
        server.call("read_file", {"path": "a.txt"}, usage=(600, 100))
    lines = cycle(home, "2024-01-15 10:00", events)
    assert lines == [
        "long-job: partial - stopped at the budget: daily token cap reached: "
        "1,400 of 1,000 tokens used today"
    ]
    assert len(server.requests) == 2
    assert [(e.action, e.first_today) for e in events] == [("stopped", True)]
    done = parse(hb_file(home).read_text()).task("long-job")
    assert done is not None and done.field("status").value == "partial"  # type: ignore[union-attr]


def test_daily_cost_cap_uses_the_price_table(tmp_path: Path, server: ScriptedLLM) -> None:
    """daily_cost is estimated from [budget.prices] for the run's model."""
    home = make_home(
        tmp_path,
        server,
        THREE.replace("### Backup\n- Recurring: every 1h\n- Run: echo saved\n", ""),
    )
    prices = {"scripted": {"input": 1000.0, "output": 2000.0}}  # per million tokens
    set_config(home, budget={"daily_cost": 1.0, "prices": prices})
    done(server, "a", (600, 100))  # 0.6 + 0.2 = 0.8
    done(server, "b", (600, 100))  # started at 0.8 < 1.0, so it ran
    assert cycle(home, "2024-01-15 10:00") == ["alpha: ok - a", "beta: ok - b"]
    assert cycle(home, "2024-01-15 11:00") == [
        "alpha: skipped - budget: daily cost cap reached: 1.6000 of 1.00 spent today",
        "beta: skipped - budget: daily cost cap reached: 1.6000 of 1.00 spent today",
    ]


def test_tally_counts_days_in_the_budget_zone() -> None:
    """Runs fall into local days (a 25-hour fall-back day too); unknown models cost nothing."""
    zone = ZoneInfo("Europe/Berlin")
    budget = BudgetConfig(prices=(("m", Price(1_000_000.0, 0.0)),))
    rows = [
        ("a", _at("2024-10-26 22:30"), "m", 1, 0),  # 00:30 on the 27th in Berlin
        ("a", _at("2024-10-27 22:30"), "m", 2, 0),  # 23:30 on the 27th (CET now)
        ("b", _at("2024-10-27 23:30"), "other", 5, 5),  # 00:30 on the 28th
    ]
    usage = tally(rows, budget, zone, _at("2024-10-28 08:00"))
    assert [(d.day, d.total.tokens, d.total.cost) for d in usage.days] == [
        (date(2024, 10, 28), 10, 0.0),
        (date(2024, 10, 27), 3, 3.0),
    ]
    assert usage.days[0].total.uncosted == 10 and usage.today.tokens == 10
    assert day_start(date(2024, 10, 27), zone) == _at("2024-10-26 22:00")
    assert day_start(date(2024, 10, 28), zone) == _at("2024-10-27 23:00")


def test_usage_command_table_and_json(
    tmp_path: Path, server: ScriptedLLM, run: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    """`localhb usage` shows runs, tokens and cost per day and task, the caps and what is left."""
    home = make_home(tmp_path, server, THREE)
    set_config(
        home,
        budget={"daily_tokens": 10_000, "prices": {"scripted": {"input": 1.0, "output": 1.0}}},
    )
    done(server, "a", (600, 100))
    done(server, "b", (300, 0))
    run(home, "--now", "2024-01-15 10:00")
    assert main(["--home", str(home), "usage", "--at", "2024-01-15 12:00", "--json"]) == 0
    data: dict[str, Any] = json.loads(capsys.readouterr().out)
    assert data["caps"] == {"daily_tokens": 10_000, "daily_cost": None, "per_task_tokens": 200_000}
    (day,) = data["days"]
    assert (day["day"], day["runs"], day["tokens"]) == ("2024-01-15", 3, 1000)
    assert {t["task_id"]: t["tokens"] for t in day["tasks"]} == {
        "alpha": 700,
        "backup": 0,
        "beta": 300,
    }
    assert data["today"]["tokens_left"] == 9000 and data["today"]["blocked"] is None
    assert main(["--home", str(home), "usage", "--at", "2024-01-15 12:00"]) == 0
    out = capsys.readouterr().out
    assert "2024-01-15  (all)" in out and "alpha" in out and "0.0010" in out
    assert "caps: daily_tokens 10,000 (9,000 left)" in out
    assert main(["--home", str(home), "usage", "--at", "2024-01-25 12:00", "--days", "3"]) == 0
    assert "no runs in these days" in capsys.readouterr().out


def test_usage_past_the_cap_and_without_prices(
    tmp_path: Path, server: ScriptedLLM, run: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    """Past a cap `usage` says none is left and by how much it is over (never a negative
    amount left), and it explains the `+` of tokens from a model with no price."""
    home = make_home(tmp_path, server, THREE)
    set_config(home, budget={"daily_tokens": 500})
    done(server, "a", (600, 100))  # beta is then skipped: the cap is crossed
    run(home, "--now", "2024-01-15 10:00")
    assert main(["--home", str(home), "usage", "--at", "2024-01-15 12:00", "--json"]) == 0
    data: dict[str, Any] = json.loads(capsys.readouterr().out)
    assert data["today"]["tokens_left"] == 0 and data["today"]["blocked"]
    assert main(["--home", str(home), "usage", "--at", "2024-01-15 12:00"]) == 0
    out = capsys.readouterr().out
    assert "caps: daily_tokens 500 (none left: 200 over)" in out and "-200" not in out
    assert "0.0000+" in out and "+ also tokens of a model with no price" in out


def documented_keys(command: str) -> list[set[str]]:
    """The `{a, b, ...}` key sets docs/cli.md gives for `command --json`, in order."""
    import re

    doc = (Path(__file__).resolve().parents[1] / "docs" / "cli.md").read_text(encoding="utf-8")
    start = doc.index(f"- `{command} --json`")
    end = doc.find("\n- ", start + 1)
    bullet = doc[start : end if end != -1 else len(doc)]
    return [
        {k.strip() for k in group.split(",")}
        for group in re.findall(r"`\{([^}`]*)\}`", " ".join(bullet.split()))
    ]


def test_usage_json_shape_is_documented(
    tmp_path: Path, server: ScriptedLLM, run: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    """The keys docs/cli.md gives for `usage --json` are the keys it prints."""
    home = make_home(tmp_path, server, THREE)
    set_config(home, budget={"daily_tokens": 10_000})
    done(server, "a", (600, 100))
    done(server, "b", (300, 0))
    run(home, "--now", "2024-01-15 10:00")
    assert main(["--home", str(home), "usage", "--at", "2024-01-15 12:00", "--json"]) == 0
    real: dict[str, Any] = json.loads(capsys.readouterr().out)
    top, day, caps = documented_keys("usage")
    assert set(real) == top
    assert set(real["days"][0]) == day
    assert set(real["days"][0]["tasks"][0]) == (day - {"day", "tasks"}) | {"task_id"}
    assert set(real["caps"]) == caps
    assert set(real["today"]) == (day - {"day", "tasks"}) | {"tokens_left", "cost_left", "blocked"}
