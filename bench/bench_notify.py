"""Time from a run's end to its message arriving at a loopback receiver (target < 1 s).

Runs real heartbeat cycles (the scripted OpenAI-compatible server from tests/
on 127.0.0.1, a task that ends in error) with a json:// target pointing at an
HTTP receiver on 127.0.0.1. Measures, per cycle, from the RunFinished event
(the run is recorded) to the receiver having read the request. The first
cycle of the process includes importing Apprise; the rest do not.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import tomli_w  # noqa: E402

from localhb.config import load_config  # noqa: E402
from localhb.cycle.events import Event, RunFinished  # noqa: E402
from localhb.cycle.observers import default_observers  # noqa: E402
from localhb.cycle.runner import Runner  # noqa: E402
from tests.receivers import http_receiver  # noqa: E402
from tests.scripted_llm import ScriptedLLM  # noqa: E402

CYCLES = 8


def main() -> None:
    llm = ScriptedLLM().start()
    lat: list[float] = []
    try:
        with http_receiver() as rec, tempfile.TemporaryDirectory() as tmp:
            arrivals: list[float] = []
            orig = rec.arrived

            class Stamp(threading.Event):
                def set(self) -> None:
                    arrivals.append(time.perf_counter())
                    orig.set()

            rec.arrived = Stamp()
            for i in range(CYCLES):
                home = Path(tmp) / f"h{i}"
                (home / "workspace").mkdir(parents=True)
                (home / "workspace" / "HEARTBEAT.md").write_text(
                    "## Pending\n\n### Check CI\n- Description: look\n"
                )
                cfg: dict[str, Any] = {
                    "heartbeat": {"timezone": "UTC"},
                    "llm": {"base_url": llm.base_url, "model": "scripted", "max_retries": 0},
                    "notify": {"targets": {"ops": f"json://{rec.base}/hook"}},
                }
                (home / "config.toml").write_text(tomli_w.dumps(cfg))
                config = load_config(home=home)
                ended: list[float] = []

                def stamp(event: Event, ended: list[float] = ended) -> None:
                    if isinstance(event, RunFinished):
                        ended.append(time.perf_counter())

                observers = [stamp, *default_observers(config, config.tz())]
                llm.complete("error", f"CI red on build {i}")
                before = len(arrivals)
                Runner(config, observers=observers).cycle()
                assert len(arrivals) == before + 1, "the message did not arrive"
                lat.append(arrivals[-1] - ended[0])
    finally:
        llm.stop()
    print(
        f"run end -> message at loopback receiver, first cycle (imports Apprise): "
        f"{lat[0] * 1000:.1f} ms"
    )
    warm = lat[1:]
    median = statistics.median(warm) * 1000
    print(
        f"run end -> message, next {len(warm)} cycles: median {median:.1f} ms, "
        f"max {max(warm) * 1000:.1f} ms"
    )
    print(f"target < 1000 ms: {'met' if max(lat) < 1.0 else 'NOT met'}")


if __name__ == "__main__":
    main()
