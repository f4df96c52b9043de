"""Reading what real OpenAI-compatible servers send, as pure functions over JSON.

No I/O and no `openai`: `read_completion` turns the decoded body of one chat
completion into a `Reply`, tolerating the shapes real servers ship:

- tool-call `arguments` as a JSON string or as an object (llama.cpp for a while);
- `content` as a string, null, or a list of parts (Mistral's Magistral models),
  with `thinking` parts kept apart;
- `reasoning_content` (DeepSeek, llama.cpp) or `reasoning` (vLLM, OpenRouter),
  and `<think>...</think>` blocks in the text: kept as reasoning, never summary;
- `refusal` (OpenAI), `finish_reason`, and missing `usage` (None, not 0);
- an HTTP 200 whose body is `{"error": ...}`: `ReplyError` with the provider's words.

`calls_in_text` recognises tool calls a model wrote as text (Hermes
`<tool_call>` tags, a fenced or bare JSON object naming a known tool), and
`resolve_name` maps `functions.complete_task` or `Complete_Task` to the real
name. `repair_arguments` mends cheap JSON mistakes (double encoding, single
quotes, a trailing `<|eot_id|>`) with `json-repair` before a call is refused.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from localhb.agent.endpoint import Reply, ToolCall


class ReplyError(Exception):
    """The body is not a chat completion; `message` says what it was (the provider's error)."""

    def __init__(self, message: str, *, provider: bool = False) -> None:
        self.message = message
        self.provider = provider  # True: the server sent an `error` object with its own words
        super().__init__(message)


_THINK = re.compile(r"<(think|thinking|reasoning)>(.*?)(?:</\1>|\Z)", re.DOTALL | re.IGNORECASE)
_STRAY_CLOSE = re.compile(r"^(.*?)</(?:think|thinking|reasoning)>", re.DOTALL | re.IGNORECASE)
SPECIAL_TOKENS = re.compile(
    r"<\|(?:eot_id|im_end|im_start|end|endoftext|eom_id|end_of_text|return|call)\|>"
    r"|</s>|<end_of_turn>|<\|python_tag\|>",
)
_REASONING_KEYS = ("reasoning_content", "reasoning")


def _text_of(content: Any) -> tuple[str, str]:
    """(visible text, thinking text) of a message's `content`, whatever its shape."""
    if content is None:
        return "", ""
    if isinstance(content, str):
        return content, ""
    if isinstance(content, Mapping):
        content = [content]
    if not isinstance(content, list):
        return str(content), ""
    text: list[str] = []
    thinking: list[str] = []
    for part in content:
        if isinstance(part, str):
            text.append(part)
            continue
        if not isinstance(part, Mapping):
            continue
        kind = str(part.get("type", "text"))
        if kind in ("thinking", "reasoning"):
            inner = part.get("thinking", part.get("reasoning", part.get("text", "")))
            thinking.append(_text_of(inner)[0])
        elif isinstance(part.get("text"), str):
            text.append(str(part["text"]))
    return "".join(text), "\n".join(t for t in thinking if t)


def strip_thinking(text: str) -> tuple[str, str]:
    """(text without `<think>` blocks, the thinking they held)."""
    thoughts: list[str] = []
    stray = _STRAY_CLOSE.match(text)  # the opening tag was in the template, not the reply
    if stray and "<think" not in stray.group(1).lower():
        thoughts.append(stray.group(1).strip())
        text = text[stray.end() :]

    def keep(m: re.Match[str]) -> str:
        thoughts.append(m.group(2).strip())
        return ""

    return _THINK.sub(keep, text).strip(), "\n".join(t for t in thoughts if t)


def read_completion(data: Any) -> Reply:
    """The first choice of a decoded chat completion body; ReplyError when it is not one."""
    if not isinstance(data, Mapping):
        raise ReplyError(f"not a chat completion: {_sample(data)}")
    error = data.get("error")
    if error and not data.get("choices"):
        raise ReplyError(provider_message(error), provider=True)
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], Mapping):
        raise ReplyError(f"not a chat completion: {_sample(data)}")
    choice = choices[0]
    message = choice.get("message")
    if not isinstance(message, Mapping):
        raise ReplyError(f"not a chat completion (no message): {_sample(data)}")
    text, part_thinking = _text_of(message.get("content"))
    text, tag_thinking = strip_thinking(SPECIAL_TOKENS.sub("", text))
    reasoning_key = ""
    reasoning = ""
    for key in _REASONING_KEYS:
        value = message.get(key)
        if isinstance(value, str) and value.strip():
            reasoning_key, reasoning = key, value
            break
    shown_thinking = "\n".join(t for t in (part_thinking, tag_thinking) if t)
    refusal = message.get("refusal")
    usage = data.get("usage")
    return Reply(
        text=text,
        calls=tuple(_calls(message.get("tool_calls"))),
        prompt_tokens=_tokens(usage, "prompt_tokens"),
        completion_tokens=_tokens(usage, "completion_tokens"),
        finish_reason=str(choice.get("finish_reason") or ""),
        reasoning=reasoning or shown_thinking,
        reasoning_key=reasoning_key,
        refusal=refusal.strip() if isinstance(refusal, str) else "",
    )


def _calls(raw: Any) -> Iterable[ToolCall]:
    if not isinstance(raw, list):
        return
    for i, call in enumerate(raw):
        if not isinstance(call, Mapping):
            continue
        function = call.get("function")
        if not isinstance(function, Mapping):
            continue
        arguments = function.get("arguments")
        if arguments is None:
            arguments = ""
        elif not isinstance(arguments, str):  # an object where a JSON string belongs
            arguments = json.dumps(arguments, ensure_ascii=False)
        call_id = call.get("id")
        yield ToolCall(
            call_id if isinstance(call_id, str) and call_id else f"call_{i}",
            str(function.get("name") or ""),
            arguments,
        )


def _tokens(usage: Any, key: str) -> int | None:
    if not isinstance(usage, Mapping):
        return None
    value = usage.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return value


def provider_message(error: Any) -> str:
    """The provider's own words from an `error` value (object or string)."""
    if isinstance(error, Mapping):
        for key in ("message", "detail", "error"):
            value = error.get(key)
            if isinstance(value, str) and value.strip():
                return " ".join(value.split())
            if isinstance(value, Mapping):
                return provider_message(value)
        return _sample(error)
    return " ".join(str(error).split())


def _sample(value: Any, limit: int = 120) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)[:400]
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- names and arguments ---------------------------------------------------------

_PREFIX = re.compile(r"^(?:functions?|tools?|default_api)[.:/]", re.IGNORECASE)


def resolve_name(name: str, names: Sequence[str]) -> str:
    """`name` as one of `names`: without a `functions.` prefix, in the right case."""
    if name in names:
        return name
    bare = _PREFIX.sub("", name.strip().strip("`\"'"))
    if bare in names:
        return bare
    folded = {n.lower().replace("-", "_"): n for n in names}
    return folded.get(bare.lower().replace("-", "_").replace(" ", "_"), name)


def repair_arguments(raw: str) -> tuple[dict[str, Any] | None, str]:
    """(the JSON object in `raw`, how it was mended: "" when it needed nothing).

    None when nothing object-like can be recovered. Repairs, in order:
    stray special tokens, double encoding (a JSON string holding the object),
    then `json_repair` (single quotes, missing braces, trailing commas).
    """
    text = raw.strip()
    if not text:
        return {}, ""
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    else:
        if isinstance(value, dict):
            return value, ""
    cleaned = SPECIAL_TOKENS.sub("", text).strip()
    notes: list[str] = []
    if cleaned != text:
        notes.append("removed a stray special token")
    for _ in range(2):  # "{\"a\": 1}" and, rarely, twice over
        try:
            value = json.loads(cleaned)
        except ValueError:
            break
        if isinstance(value, dict):
            return value, ", ".join(notes) or "no change"
        if not isinstance(value, str):
            return None, ""
        cleaned = value.strip()
        notes.append("decoded double-encoded JSON")
    import json_repair

    try:
        mended = json_repair.loads(cleaned)
    except Exception:  # the library must not turn a bad call into a crash
        return None, ""
    if isinstance(mended, str) and mended.strip().startswith("{"):
        mended = json_repair.loads(mended)
    if not isinstance(mended, dict) or (not mended and "{" not in cleaned):
        return None, ""
    notes.append("repaired malformed JSON")
    return mended, ", ".join(notes)


# -- tool calls written as text --------------------------------------------------

_TAGGED = re.compile(
    r"<(?:tool_call|function_call|tool_calls)>\s*(.*?)\s*(?:</(?:tool_call|function_call|tool_calls)>|\Z)",
    re.DOTALL | re.IGNORECASE,
)
_FENCED = re.compile(r"```(?:json|tool_call|tool|javascript|js)?[ \t]*\n(.*?)\n?```", re.DOTALL)


@dataclass(frozen=True, slots=True)
class TextCalls:
    """Tool calls found in a reply's text: the calls, how they were written, the rest of it."""

    calls: tuple[ToolCall, ...]
    form: str  # "Hermes <tool_call> tags" | "a fenced JSON block" | "a bare JSON object"
    rest: str


def calls_in_text(text: str, names: Sequence[str], *, step: int = 0) -> TextCalls | None:
    """Tool calls written as text that name one of `names`, or None."""
    for pattern, form in (
        (_TAGGED, "Hermes <tool_call> tags"),
        (_FENCED, "a fenced JSON block"),
    ):
        found: list[ToolCall] = []
        rest = text
        for m in pattern.finditer(text):
            for obj in _objects(m.group(1)):
                call = _as_call(obj, names, step, len(found))
                if call is not None:
                    found.append(call)
                    rest = rest.replace(m.group(0), " ")
        if found:
            return TextCalls(tuple(found), form, rest.strip())
    stripped = SPECIAL_TOKENS.sub("", text).strip()
    if stripped.startswith(("{", "[")) and stripped.endswith(("}", "]")):
        found = [
            c
            for n, obj in enumerate(_objects(stripped))
            if (c := _as_call(obj, names, step, n)) is not None
        ]
        if found:
            return TextCalls(tuple(found), "a bare JSON object", "")
    return None


def _objects(chunk: str) -> list[Any]:
    chunk = SPECIAL_TOKENS.sub("", chunk).strip()
    try:
        value = json.loads(chunk)
    except ValueError:
        value, _ = repair_arguments(chunk)
    if isinstance(value, list):
        return value
    return [value] if value is not None else []


def _as_call(obj: Any, names: Sequence[str], step: int, n: int) -> ToolCall | None:
    if not isinstance(obj, Mapping):
        return None
    if isinstance(obj.get("function"), Mapping):  # {"type": "function", "function": {...}}
        obj = obj["function"]
    name = obj.get("name", obj.get("tool", obj.get("tool_name")))
    if not isinstance(name, str):
        return None
    resolved = resolve_name(name, names)
    if resolved not in names:
        return None
    args = obj.get("arguments", obj.get("parameters", obj.get("args", {})))
    raw = args if isinstance(args, str) else json.dumps(args or {}, ensure_ascii=False)
    return ToolCall(f"text_{step}_{n}", resolved, raw)


def assistant_message(reply: Reply) -> dict[str, Any]:
    """The reply as it goes back next turn, in a shape strict servers accept.

    Reasoning goes back in the field it came in (DeepSeek's thinking mode needs
    it); an empty turn is `content: ""` rather than null with no tool calls.
    """
    content: str | None = reply.text or None
    if content is None and not reply.calls:
        content = ""
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if reply.reasoning_key and reply.reasoning:
        message[reply.reasoning_key] = reply.reasoning
    if reply.calls:
        message["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in reply.calls
        ]
    return message


def canonical_arguments(raw: str) -> str:
    """Arguments as compared for a repeated call: sorted JSON, else the stripped text."""
    try:
        return json.dumps(json.loads(raw), sort_keys=True)
    except ValueError:
        return raw.strip()
