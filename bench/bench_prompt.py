"""Prompt size of one task: alone in its file versus among 1,000 tasks.

Writes two HEARTBEAT.md files: one holding only the target task, one where the
same task sits in the middle of 1,000 generated tasks. Each is parsed with
`localhb.format.parser.parse`, the target task found by id, and run once by the
agent against the scripted OpenAI-compatible server from the tests (on
127.0.0.1, reached through the real `openai` client). The first request of
each run is compared.

Prints, for each: request body bytes, prompt characters (the JSON of
`messages` plus `tools`), prompt tokens as the scripted server reports them
(characters / 4, rounded up), and the relative difference. Target: < 5%.

Then the prompt of a trivial task with every tool family and with `- Tools:
shell`, split into system prompt, tool schemas and task. Targets: under 1,000
prompt tokens with all tools, under 600 with one family. With `--real PORT`
(llama-server from ../shared/llm on 127.0.0.1:PORT, see its README) the same
two prompts are also sent there and its own tokenizer's counts printed.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from localhb.agent.loop import run_task
from localhb.config import Config
from localhb.format.parser import parse
from tests.scripted_llm import Recorded, ScriptedLLM, make_config

TARGET_ID = "check-ci-status"
TARGET = """### Check CI Status
- Priority: high
- Due: 2030-01-15 14:00
- Description: Check if the CI pipeline passed for PR #42 and note the result
"""
SCHEDULES = ["daily at 18:00", "every 30m", "weekdays at 08:00", "hourly"]


def filler(i: int) -> str:
    lines = [f"### Task {i}", f"- Priority: {('high', 'medium', 'low')[i % 3]}"]
    if i % 3 == 0:
        lines.append(f"- Due: 2030-01-{1 + i % 28:02d} {i % 24:02d}:00")
    elif i % 3 == 1:
        lines.append(f"- Recurring: {SCHEDULES[i % len(SCHEDULES)]}")
    else:
        lines.append(f"- Condition: build {i} is green")
    lines.append(f"- Description: Do the thing for item {i}, then write it down")
    return "\n".join(lines) + "\n"


def heartbeat(total: int) -> str:
    """A file of `total` tasks with the target in the middle."""
    tasks = [filler(i) for i in range(total - 1)]
    tasks.insert(len(tasks) // 2, TARGET)
    return "# Heartbeat Tasks\n\n## Pending\n\n" + "\n".join(tasks) + "\n## Completed\n"


def first_request(text: str, config: Config, server: ScriptedLLM) -> tuple[Recorded, int]:
    """The request sent for the target task of `text`, and its reported prompt tokens."""
    doc = parse(
        text,
        pending_sections=config.heartbeat.pending_sections,
        completed_sections=config.heartbeat.completed_sections,
    )
    task = doc.task(TARGET_ID)
    if task is None:
        raise SystemExit(f"the parser did not find {TARGET_ID!r}")
    seen = len(server.requests)
    server.complete("ok", "CI is green")
    result = run_task(task, config)  # one step: its tokens are this request's
    return server.requests[seen], result.stats.prompt_tokens


TRIVIAL = "### Say Hello\n- Description: Write hello into hello.txt\n{tools}"


def trivial_prompts(real_port: int | None) -> bool:
    """Print the prompt size of a trivial task, all tools and shell only; True when on target."""
    import json

    from localhb.agent.loop import Clock
    from localhb.agent.prompting import system_prompt

    server = ScriptedLLM().start()
    ok = True
    try:
        with tempfile.TemporaryDirectory() as tmp:
            config = make_config(Path(tmp), server)
            print()
            print(
                f"{'trivial task':>16} {'tools':>6} {'system':>7} {'schemas':>8} {'task':>6} "
                f"{'prompt tokens':>14} {'real tokens':>12}  target"
            )
            for label, line, target in (
                ("all tools", "", 1000),
                ("- Tools: shell", "- Tools: shell\n", 600),
            ):
                text = "## Pending\n" + TRIVIAL.format(tools=line)
                doc = parse(text)
                task = doc.tasks[0]
                seen = len(server.requests)
                server.complete("ok", "hello written")
                run_task(task, config, clock=Clock())
                request = server.requests[seen]
                tokens = -(-request.prompt_chars // 4)
                tools = request.body["tools"]
                schemas = len(json.dumps(tools, separators=(",", ":"))) // 4
                system = len(system_prompt(config.llm)) // 4
                rest = tokens - schemas - system
                real = "-"
                if real_port is not None:
                    real = f"{real_tokens(real_port, request.body):,}"
                hit = tokens < target
                ok = ok and hit
                print(
                    f"{label:>16} {len(tools):>6} {system:>7,} {schemas:>8,} {rest:>6,} "
                    f"{tokens:>14,} {real:>12}  < {target:,}: {'ok' if hit else 'FAIL'}"
                )
    finally:
        server.stop()
    print("tokens: characters / 4 (the scripted server's count); real: llama-server's tokenizer")
    return ok


def real_tokens(port: int, body: dict[str, object]) -> int:
    """prompt_tokens llama-server reports for `body`, asking for one token of reply."""
    import json
    import urllib.request

    data = json.dumps({**body, "max_tokens": 1}).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/chat/completions",
        data=data,
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=600) as reply:
        return int(json.loads(reply.read())["usage"]["prompt_tokens"])


def main() -> None:
    real_port = None
    if "--real" in sys.argv:
        real_port = int(sys.argv[sys.argv.index("--real") + 1])
    on_target = trivial_prompts(real_port)
    server = ScriptedLLM().start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            config = make_config(Path(tmp), server)
            rows = []
            for total in (1, 1000):
                text = heartbeat(total)
                request, tokens = first_request(text, config, server)
                rows.append((total, len(text), request, tokens))
    finally:
        server.stop()
    print(
        f"{'tasks in file':>14} {'file bytes':>11} {'body bytes':>11} {'prompt chars':>13} "
        f"{'prompt tokens':>14}"
    )
    for total, size, request, tokens in rows:
        print(
            f"{total:>14,} {size:>11,} {len(request.raw):>11,} {request.prompt_chars:>13,} "
            f"{tokens:>14,}"
        )
    alone, crowded = rows[0][2], rows[1][2]
    diff = abs(len(crowded.raw) - len(alone.raw)) / len(alone.raw)
    print(f"body bytes differ by {diff:.2%} (target < 5%): {'ok' if diff < 0.05 else 'FAIL'}")
    print("tokens: the scripted server's count, prompt characters / 4 rounded up")
    if diff >= 0.05 or not on_target:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
