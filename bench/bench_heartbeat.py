"""Idle `localhb daemon heartbeat` on a 200-task file vs `python3 -c pass`, same run.

Builds a home whose HEARTBEAT.md has 200 tasks, none due, and times whole
processes (best of N, wall clock): the baseline interpreter start, then the
idle cycle. Notifications are configured (a target and a ping template); the
bench checks that openai, httpx and apprise are not imported on that path.
Target: ratio <= 3x.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNS = 15


def build_home(root: Path) -> Path:
    home = root / "home"
    (home / "workspace").mkdir(parents=True)
    lines = ["# Heartbeat Tasks", "", "## Pending", ""]
    for i in range(200):
        lines.append(f"### Task {i}")
        if i % 2:
            lines.append(f"- Due: 2099-01-{1 + i % 28:02d} 09:00")
        else:
            lines.append(f"- Recurring: daily at {i % 24:02d}:{i % 60:02d}")
            lines.append("- Last run: 2030-01-10 08:29 (ok)")
        lines.append(f"- Description: task number {i}")
        lines.append("")
    lines.append("## Completed")
    (home / "workspace" / "HEARTBEAT.md").write_text("\n".join(lines) + "\n")
    # Notifications configured: the idle path must still load neither Apprise nor openai.
    (home / "config.toml").write_text(
        '[heartbeat]\ntimezone = "UTC"\n'
        '[notify]\nping_url_template = "http://127.0.0.1:9/{task_id}"\n'
        '[notify.targets]\nops = "json://127.0.0.1:9/hook"\n'
    )
    return home


def best(argv: list[str], env: dict[str, str]) -> tuple[float, str]:
    times, out = [], ""
    for _ in range(RUNS):
        t0 = time.perf_counter()
        done = subprocess.run(argv, capture_output=True, text=True, env=env, check=True)
        times.append(time.perf_counter() - t0)
        out = done.stdout
    return min(times), out


def main() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryDirectory() as tmp:
        home = build_home(Path(tmp))
        base, _ = best([sys.executable, "-c", "pass"], env)
        # the installed console script when there is one (as users run it), else -m
        script = Path(sys.executable).with_name("localhb")
        command = [str(script)] if script.exists() else [sys.executable, "-m", "localhb"]
        argv = [*command, "--home", str(home), "daemon", "heartbeat", "--now", "2030-01-10 08:30"]
        idle, out = best(argv, env)
        assert out == "HEARTBEAT_OK\n", out
        probe = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "localhb", *argv[len(command) :]],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        ).stderr
        heavy = sorted(
            {
                ln.split("|")[-1].strip().split(".")[0]
                for ln in probe.splitlines()
                if ln.split("|")[-1].strip().split(".")[0] in ("openai", "httpx", "apprise")
            }
        )
    print(f"python3 -c pass: {base * 1000:.1f} ms (best of {RUNS})")
    print(f"idle heartbeat, 200 tasks: {idle * 1000:.1f} ms (best of {RUNS})")
    print(f"ratio: {idle / base:.2f}x (target <= 3.00x)")
    print(f"openai/httpx/apprise imported on the idle path: {heavy or 'no'}")


if __name__ == "__main__":
    main()
