"""Real-world reply shapes, one per quirk, replayed over HTTP through the real `openai` client.

Each test pins what localhb does with a shape a real server (llama.cpp,
Ollama, vLLM, DeepSeek, Mistral, OpenAI) has been seen to send.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from localhb.agent.endpoint import max_tokens_field
from localhb.agent.loop import run_task
from localhb.core.results import EventKind, Failure, Status, TraceEvent
from tests.scripted_llm import ScriptedLLM, make_config, make_task, scripted_llm

__all__ = ["scripted_llm"]


class Events(list[TraceEvent]):
    def __call__(self, event: TraceEvent) -> None:
        self.append(event)

    def notes(self) -> list[str]:
        return [e.text for e in self if e.kind is EventKind.NOTE]


def call(name: str, arguments: Any, call_id: str = "c1") -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


DONE = {"status": "ok", "summary": "done"}


# -- bounded replies -------------------------------------------------------------


def test_every_request_carries_a_reply_cap(scripted_llm: ScriptedLLM, tmp_path: Path) -> None:
    """Each request sends max_tokens from [llm] max_reply_tokens (default 2048)."""
    scripted_llm.complete()
    run_task(make_task(), make_config(tmp_path, scripted_llm))
    assert scripted_llm.requests[0].body["max_tokens"] == 2048
    scripted_llm.complete()
    run_task(make_task(), make_config(tmp_path, scripted_llm, llm={"max_reply_tokens": 300}))
    assert scripted_llm.requests[1].body["max_tokens"] == 300
    assert "tool_choice" not in scripted_llm.requests[1].body


def test_openai_gets_max_completion_tokens() -> None:
    """OpenAI's own API is sent max_completion_tokens; every other endpoint max_tokens."""
    assert max_tokens_field("https://api.openai.com/v1") == "max_completion_tokens"
    assert max_tokens_field("http://localhost:11434/v1") == "max_tokens"


def test_cap_field_switches_when_the_endpoint_asks(
    scripted_llm: ScriptedLLM, tmp_path: Path
) -> None:
    """A 400 naming max_completion_tokens makes the client ask again with that field."""
    scripted_llm.error(
        400,
        "Unsupported parameter: 'max_tokens' is not supported with this model. "
        "Use 'max_completion_tokens' instead.",
    ).complete()
    result = run_task(make_task(), make_config(tmp_path, scripted_llm))
    assert result.status is Status.OK
    second = scripted_llm.requests[1].body
    assert second["max_completion_tokens"] == 2048 and "max_tokens" not in second


def test_tool_choice_required_is_sent(scripted_llm: ScriptedLLM, tmp_path: Path) -> None:
    """[llm] tool_choice = "required" goes to the endpoint."""
    scripted_llm.complete()
    run_task(make_task(), make_config(tmp_path, scripted_llm, llm={"tool_choice": "required"}))
    assert scripted_llm.requests[0].body["tool_choice"] == "required"


def test_cut_off_reply_is_its_own_error(scripted_llm: ScriptedLLM, tmp_path: Path) -> None:
    """finish_reason "length" without a call ends the run as cut off, at once, never ok."""
    content = "# HEARTBEAT.md\n# Count Files\n" * 50
    scripted_llm.shaped({"role": "assistant", "content": content}, finish_reason="length")
    result = run_task(make_task(), make_config(tmp_path, scripted_llm))
    assert (result.status, result.stats.failure) == (Status.ERROR, Failure.CUT_OFF)
    assert "cut off at 2,048 tokens ([llm] max_reply_tokens)" in result.summary
    assert len(scripted_llm.requests) == 1


# -- reading what servers send -----------------------------------------------------


def test_arguments_as_an_object(scripted_llm: ScriptedLLM, tmp_path: Path) -> None:
    """Tool-call arguments sent as a JSON object (llama.cpp#20198) work like a string."""
    config = make_config(tmp_path, scripted_llm)
    (config.agent.workspace / "notes.md").write_text("buy milk\n")
    scripted_llm.shaped(
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [call("read_file", {"path": "notes.md"})],
        }
    ).shaped({"role": "assistant", "content": None, "tool_calls": [call("complete_task", DONE)]})
    result = run_task(make_task(), config)
    assert result.status is Status.OK
    assert [c.outcome for c in result.stats.tool_calls] == ["ok", "ok"]
    echoed = scripted_llm.requests[1].messages[2]["tool_calls"][0]["function"]["arguments"]
    assert json.loads(echoed) == {"path": "notes.md"}  # sent back as the string servers expect


def test_content_as_a_list_of_parts(scripted_llm: ScriptedLLM, tmp_path: Path) -> None:
    """Content as a list of parts (Magistral) is read; thinking parts are never the text."""
    parts = [
        {"type": "thinking", "thinking": [{"type": "text", "text": "I should list."}]},
        {"type": "text", "text": "Listing the files."},
    ]
    scripted_llm.shaped(
        {"role": "assistant", "content": parts, "tool_calls": [call("list_dir", {})]}
    ).complete()
    events = Events()
    result = run_task(make_task(), make_config(tmp_path, scripted_llm), on_event=events)
    assert result.status is Status.OK
    said = [e.text for e in events if e.kind is EventKind.MODEL]
    assert said == ["Listing the files."]
    assert scripted_llm.requests[1].messages[2]["content"] == "Listing the files."


def test_reasoning_content_is_passed_back(scripted_llm: ScriptedLLM, tmp_path: Path) -> None:
    """reasoning_content (DeepSeek thinking mode) goes back on the next turn, never as summary."""
    scripted_llm.shaped(
        {
            "role": "assistant",
            "content": "",
            "reasoning_content": "Let me list the files first.",
            "tool_calls": [call("list_dir", {})],
        }
    ).complete("ok", "listed")
    result = run_task(make_task(), make_config(tmp_path, scripted_llm))
    assistant = scripted_llm.requests[1].messages[2]
    assert assistant["reasoning_content"] == "Let me list the files first."
    assert result.summary == "listed"


def test_reasoning_field_is_passed_back_by_its_own_name(
    scripted_llm: ScriptedLLM, tmp_path: Path
) -> None:
    """`reasoning` (vLLM, OpenRouter) goes back as `reasoning`."""
    scripted_llm.shaped(
        {"role": "assistant", "reasoning": "hm", "tool_calls": [call("list_dir", {})]}
    ).complete()
    run_task(make_task(), make_config(tmp_path, scripted_llm))
    assistant = scripted_llm.requests[1].messages[2]
    assert assistant["reasoning"] == "hm" and "reasoning_content" not in assistant


def test_think_blocks_never_reach_the_summary(scripted_llm: ScriptedLLM, tmp_path: Path) -> None:
    """<think> blocks are stripped from text and from complete_task's summary and notes."""
    scripted_llm.call(
        "complete_task",
        {"status": "ok", "summary": "<think>hmm</think>Tidied", "notes": "<think>x</think>3 files"},
    )
    result = run_task(make_task(), make_config(tmp_path, scripted_llm))
    assert (result.summary, result.notes) == ("Tidied", "3 files")


def test_think_only_text_is_not_an_answer(scripted_llm: ScriptedLLM, tmp_path: Path) -> None:
    """A reply that is only a <think> block counts as saying nothing: nudge, then error."""
    scripted_llm.text("<think>I am done.</think>").text("<think>Really done.</think>")
    result = run_task(make_task(), make_config(tmp_path, scripted_llm))
    assert result.stats.failure is Failure.NO_ANSWER
    assert "I am done" not in result.summary
    assert scripted_llm.requests[1].messages[-1]["content"].startswith("You said nothing")


def test_empty_turn_is_echoed_as_empty_text(scripted_llm: ScriptedLLM, tmp_path: Path) -> None:
    """An empty assistant turn goes back as content "" (never null without tool calls)."""
    scripted_llm.shaped({"role": "assistant", "content": None}).complete()
    assert run_task(make_task(), make_config(tmp_path, scripted_llm)).status is Status.OK
    echoed = scripted_llm.requests[1].messages[2]
    assert echoed == {"role": "assistant", "content": ""}


def test_missing_usage_is_unknown(scripted_llm: ScriptedLLM, tmp_path: Path) -> None:
    """A completion without usage is recorded as unknown (None) with an estimate, never 0."""
    scripted_llm.call("complete_task", DONE, usage=None)
    result = run_task(make_task(), make_config(tmp_path, scripted_llm))
    assert (result.stats.prompt_tokens, result.stats.completion_tokens) == (None, None)
    data = result.to_dict()
    assert data["usage"] == "unknown" and data["prompt_tokens"] is None
    assert data["estimated_tokens"] > 0


def test_some_usage_missing_is_partial(scripted_llm: ScriptedLLM, tmp_path: Path) -> None:
    """When only some replies report usage, the sums are kept and marked partial."""
    scripted_llm.call("list_dir", {}, usage=None).call("complete_task", DONE, usage=(40, 5))
    result = run_task(make_task(), make_config(tmp_path, scripted_llm))
    assert (result.stats.prompt_tokens, result.stats.usage) == (40, "partial")


# -- refusals ------------------------------------------------------------------------


def test_structured_refusal(scripted_llm: ScriptedLLM, tmp_path: Path) -> None:
    """A `refusal` field (OpenAI) ends the run as refused, named, at once."""
    scripted_llm.shaped(
        {"role": "assistant", "content": None, "refusal": "I can't help with that."}
    )
    result = run_task(make_task(), make_config(tmp_path, scripted_llm))
    assert (result.status, result.stats.failure) == (Status.ERROR, Failure.MODEL_REFUSED)
    assert result.summary == "the model refused: I can't help with that."


def test_text_refusal(scripted_llm: ScriptedLLM, tmp_path: Path) -> None:
    """A text refusal, kept after the nudge, ends the run as refused rather than ok."""
    scripted_llm.text("I'm sorry, but I can't help with that.").text("I cannot do that.")
    result = run_task(make_task(), make_config(tmp_path, scripted_llm))
    assert (result.status, result.stats.failure) == (Status.ERROR, Failure.MODEL_REFUSED)
    assert result.summary.startswith("the model refused")


# -- tool calls written as text ------------------------------------------------------------

TEXT_CALLS = {
    "hermes": '<tool_call>\n{"name": "complete_task", "arguments": '
    '{"status": "ok", "summary": "tidied"}}\n</tool_call>',
    "bare": '{"name": "complete_task", "arguments": {"status": "ok", "summary": "tidied"}}',
    "fenced": 'Here you go:\n```json\n{"name": "complete_task", "parameters": '
    '{"status": "ok", "summary": "tidied"}}\n```',
    "prefix": '<tool_call>{"name": "functions.complete_task", "arguments": '
    '{"status": "ok", "summary": "tidied"}}</tool_call><|im_end|>',
    "think": "<think>I will finish.</think>\n<tool_call>"
    '{"name": "Complete_Task", "arguments": {"status": "ok", "summary": "tidied"}}</tool_call>',
}


@pytest.mark.parametrize("shape", sorted(TEXT_CALLS))
def test_tool_call_written_as_text(shape: str, scripted_llm: ScriptedLLM, tmp_path: Path) -> None:
    """A call written as text (tags, bare/fenced JSON, prefix, case) runs, with a trace line."""
    scripted_llm.text(TEXT_CALLS[shape])
    events = Events()
    result = run_task(make_task(), make_config(tmp_path, scripted_llm), on_event=events)
    assert (result.status, result.summary) == (Status.OK, "tidied")
    assert any("read complete_task from the reply text" in n for n in events.notes())


def test_text_call_to_a_real_tool_runs_it(scripted_llm: ScriptedLLM, tmp_path: Path) -> None:
    """A Hermes call to a working tool runs, and its result goes back as a tool message."""
    config = make_config(tmp_path, scripted_llm)
    scripted_llm.text(
        '<tool_call>{"name": "write_file", "arguments": {"path": "a.txt", "content": "A"}}'
        "</tool_call>"
    ).complete()
    assert run_task(make_task(), config).status is Status.OK
    assert (config.agent.workspace / "a.txt").read_text() == "A"
    sent = scripted_llm.requests[1].messages
    assert sent[2]["tool_calls"][0]["function"]["name"] == "write_file"
    assert sent[3]["role"] == "tool" and sent[3]["tool_call_id"] == sent[2]["tool_calls"][0]["id"]


def test_json_naming_no_tool_is_just_text(scripted_llm: ScriptedLLM, tmp_path: Path) -> None:
    """JSON that names no known tool is not a call: it is text, nudged, then an error."""
    scripted_llm.text('{"name": "disk-check", "output": 3}').text('{"name": "x"}')
    result = run_task(make_task(), make_config(tmp_path, scripted_llm))
    assert result.stats.failure is Failure.TEXT_ONLY


# -- malformed calls repaired ------------------------------------------------------------

REPAIRS = {
    "double-encoded": json.dumps(json.dumps({"path": "a.txt", "content": "A"})),
    "single quotes": "{'path': 'a.txt', 'content': 'A'}",
    "eot token": '{"path": "a.txt", "content": "A"}<|eot_id|>',
    "missing brace": '{"path": "a.txt", "content": "A"',
}


@pytest.mark.parametrize("shape", sorted(REPAIRS))
def test_cheap_json_mistakes_are_repaired(
    shape: str, scripted_llm: ScriptedLLM, tmp_path: Path
) -> None:
    """Double-encoded, single-quoted, token-trailed or unclosed arguments are mended and run."""
    config = make_config(tmp_path, scripted_llm)
    scripted_llm.call("write_file", REPAIRS[shape]).complete()
    events = Events()
    assert run_task(make_task(), config, on_event=events).status is Status.OK
    assert (config.agent.workspace / "a.txt").read_text() == "A"
    assert any(n.startswith("write_file arguments:") for n in events.notes())


def test_wrong_case_tool_name(scripted_llm: ScriptedLLM, tmp_path: Path) -> None:
    """A native call to `Write_File` or `functions.list_dir` is run as the real tool."""
    config = make_config(tmp_path, scripted_llm)
    scripted_llm.calls(
        ("Write_File", {"path": "a.txt", "content": "A"}), ("functions.list_dir", {})
    ).complete()
    result = run_task(make_task(), config)
    assert [(c.name, c.outcome) for c in result.stats.tool_calls[:2]] == [
        ("write_file", "ok"),
        ("list_dir", "ok"),
    ]


# -- setup errors --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "message", "kind_word"),
    [
        (500, "tools param requires --jinja flag", "--jinja"),
        (404, "model 'gpt-4o-mini' not found, try pulling it first", "[llm] model"),
        (401, "Incorrect API key provided", "OPENAI_API_KEY"),
        (403, "Project does not have access to model", "OPENAI_API_KEY"),
        (400, "registry.ollama.ai/library/gemma:2b does not support tools", "tool calls"),
    ],
)
def test_setup_errors_are_not_retried(
    status: int, message: str, kind_word: str, scripted_llm: ScriptedLLM, tmp_path: Path
) -> None:
    """A wrong key, model or tool support ends at once as a setup failure with a fix."""
    scripted_llm.error(status, message)
    result = run_task(make_task(), make_config(tmp_path, scripted_llm, llm={"max_retries": 3}))
    assert (result.status, result.stats.failure) == (Status.ERROR, Failure.SETUP)
    assert len(scripted_llm.requests) == 1
    assert message in result.summary and kind_word in result.stats.fix
    assert result.to_dict()["fix"] == result.stats.fix


def test_error_body_with_http_200(scripted_llm: ScriptedLLM, tmp_path: Path) -> None:
    """An HTTP 200 carrying an `error` object shows the provider's message, not a dump."""
    scripted_llm.body({"error": {"message": "Upstream provider overloaded", "code": 502}})
    result = run_task(make_task(), make_config(tmp_path, scripted_llm))
    assert result.stats.failure is Failure.LLM
    assert result.summary.endswith("answered with an error: Upstream provider overloaded")
    assert "{" not in result.summary


def test_error_body_naming_a_missing_model_is_setup(
    scripted_llm: ScriptedLLM, tmp_path: Path
) -> None:
    """A 200 `error` body saying the model does not exist is a setup failure."""
    scripted_llm.body({"error": "The model `gpt-5-mini` does not exist"})
    result = run_task(make_task(), make_config(tmp_path, scripted_llm))
    assert result.stats.failure is Failure.SETUP and "does not exist" in result.summary


def test_plain_server_errors_are_still_retried(scripted_llm: ScriptedLLM, tmp_path: Path) -> None:
    """A 500 that names no setup problem is a blip: retried as before."""
    scripted_llm.error(500, "CUDA out of memory").complete()
    result = run_task(make_task(), make_config(tmp_path, scripted_llm))
    assert result.status is Status.OK and len(scripted_llm.requests) == 2
