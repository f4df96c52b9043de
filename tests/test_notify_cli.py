"""`localhb notify test` and `localhb deliveries` against a loopback receiver."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from localhb.cli import main
from tests.receivers import closed_port, http_receiver


def home_with(tmp_path: Path, targets: dict[str, str]) -> Path:
    home = tmp_path / "h"
    home.mkdir()
    lines = ["[notify.targets]", *(f'{k} = "{v}"' for k, v in targets.items())]
    lines += ["[notify]", 'timeout = "1s"']
    (home / "config.toml").write_text("\n".join(lines) + "\n")
    return home


def test_notify_test_sends_and_prints_the_answer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A test message reaches the receiver; the answer is printed; exit 0."""
    with http_receiver() as rec:
        home = home_with(tmp_path, {"ops": f"json://{rec.base}/hook"})
        assert main(["--home", str(home), "notify", "test"]) == 0
        (req,) = rec.requests
    assert req.json()["title"] == "localhb: test message"
    out = capsys.readouterr().out
    assert out.startswith("ops: sent: ") and "Sent JSON" in out


def test_notify_test_reports_a_failing_target(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A refused connection prints FAILED with the reason and exits 1; it is in the ledger."""
    home = home_with(tmp_path, {"down": f"json://127.0.0.1:{closed_port()}/x"})
    assert main(["--home", str(home), "notify", "test", "down"]) == 1
    assert "down: FAILED: " in capsys.readouterr().out
    assert main(["--home", str(home), "deliveries", "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert (row["target"], row["kind"], row["status"], row["attempts"]) == (
        "down",
        "test",
        "failed",
        1,
    )


def test_unknown_target_and_no_targets_are_usage_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Naming a target that is not defined, or having none, is exit 2 with one line."""
    home = home_with(tmp_path, {"ops": "json://127.0.0.1:1/x"})
    assert main(["--home", str(home), "notify", "test", "phone"]) == 2
    assert "no target 'phone' (defined: ops)" in capsys.readouterr().err
    empty = tmp_path / "e"
    empty.mkdir()
    assert main(["--home", str(empty), "notify", "test"]) == 2
    assert "no targets" in capsys.readouterr().err


def test_deliveries_when_there_are_none(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """No ledger yet: a plain sentence, exit 0."""
    home = home_with(tmp_path, {})
    assert main(["--home", str(home), "deliveries"]) == 0
    assert capsys.readouterr().out == "no deliveries yet\n"


@pytest.mark.parametrize(
    ("toml", "fragment"),
    [
        ('[notify]\ndefault = ["nope"]\n', "[notify] default"),
        ('[notify.targets]\nops = "not a url"\n', "[notify.targets] ops"),
        ('[notify.targets]\nnever = "json://x/y"\n', "[notify.targets] never"),
        ('[notify]\non = ["sometimes"]\n', "[notify] on"),
        ('[notify]\nping_url_template = "https://hc/x"\n', "[notify] ping_url_template"),
        ('[notify]\ncooldwn = "1h"\n', "did you mean 'cooldown'"),
    ],
)
def test_bad_notify_config_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], toml: str, fragment: str
) -> None:
    """A wrong [notify] key or value is a one-line error naming the key; exit 2."""
    home = tmp_path / "b"
    home.mkdir()
    (home / "config.toml").write_text(toml)
    assert main(["--home", str(home), "deliveries"]) == 2
    err = capsys.readouterr().err
    assert fragment in err and err.count("\n") == 1
