"""`localhb doctor`: the endpoint checked the way a newcomer needs it checked.

    config     the configuration loaded (by the caller) and where from
    key        an API key is there, or none is needed (a local endpoint)
    reach      the endpoint answers at all (GET <base_url>/models)
    model      `[llm] model` is among the models it offers (where it lists them)
    tools      one tiny request with one tool: does a tool call come back?
    template   llama.cpp only: does the `/props` chat template support tools?
    mcp NAME   each `[[mcp.servers]]` entry started (then stopped): its tools, or
               why it does not start (`mcp_checks`)

Each check is a frozen `Check` with a status (ok, warn, fail, skip), a detail
and, unless ok, a fix. Nothing here prints; `localhb.cli.doctor_cmd` does.
A failed check makes the checks that need it `skip`.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from localhb.agent.endpoint import NO_KEY, base_url_of, resolve_endpoint, setup_problem
from localhb.agent.wire import ReplyError, calls_in_text, provider_message, read_completion
from localhb.config import Config
from localhb.core.errors import MissingAPIKey
from localhb.core.redact import strip_url_credentials

PROBE_TOOL = {
    "type": "function",
    "function": {
        "name": "report_word",
        "description": "Report a word.",
        "parameters": {
            "type": "object",
            "properties": {"word": {"type": "string"}},
            "required": ["word"],
        },
    },
}
PROBE_ASK = 'Call the report_word tool with word "pong". Do not answer in text.'


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    status: str  # ok | warn | fail | skip
    detail: str
    fix: str = ""

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


def run_checks(config: Config, env: Mapping[str, str], *, timeout: float = 30.0) -> list[Check]:
    """Every check, in order; never raises for anything the endpoint does."""
    import httpx

    llm = config.llm
    base_url = base_url_of(llm, env)
    shown = strip_url_credentials(base_url)
    where = str(config.path) if config.path else "built-in defaults (no config.toml)"
    checks = [Check("config", "ok", f"{where}; model {llm.model!r} at {shown}")]
    try:
        _, key = resolve_endpoint(llm, env)
    except MissingAPIKey as exc:
        checks.append(Check("key", "fail", str(exc), exc.fix))
        return checks + [Check(n, "skip", "needs a key") for n in ("reach", "model", "tools")]
    if key == NO_KEY:
        checks.append(Check("key", "ok", "no key needed: a local endpoint"))
    else:
        checks.append(Check("key", "ok", f"a key is set ({_source(config)})"))
    headers = {"authorization": f"Bearer {key}"}
    with httpx.Client(timeout=timeout, headers=headers, follow_redirects=True) as http:
        reach, models = _models(http, base_url, shown, config)
        checks.append(reach)
        if reach.status == "fail":
            unreachable = "the endpoint is unreachable"
            return checks + [Check(n, "skip", unreachable) for n in ("model", "tools")]
        props = _props(http, base_url)
        checks.append(_model_check(models, config, llamacpp=props is not None))
        checks.append(_tool_probe(http, base_url, shown, config))
        if props is not None:
            checks.append(_template_check(props))
    return checks


def sandbox_check(config: Config, *, which: str | None = None) -> Check:
    """What protection the agent's shell commands have on this machine: the
    bubblewrap sandbox (ok), none (warn: the command policy only), or a required
    sandbox that cannot run (fail: every command is refused)."""
    from localhb.agent.tools.sandbox import choose, describe

    shell = config.tools.shell
    box = choose(shell.sandbox, which=which)
    text = describe(box, network=shell.network)
    if box.problem is not None:
        return Check("sandbox", "fail", text, "install bubblewrap (apt-get install bubblewrap)")
    if box.active:
        return Check("sandbox", "ok", text)
    fix = (
        'install bubblewrap, or keep [tools.shell] sandbox = "none" knowingly'
        if shell.sandbox == "none"
        else "install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap)"
    )
    return Check("sandbox", "warn", text, fix)


def mcp_checks(config: Config) -> list[Check]:
    """One check per `[[mcp.servers]]` entry: started, listed and stopped, as a cycle would."""
    if not config.mcp.servers:
        return []
    from localhb.agent.mcp import MCPHub

    config.agent.workspace.mkdir(parents=True, exist_ok=True)
    out: list[Check] = []
    with MCPHub(config.mcp.servers, cwd=str(config.agent.workspace)) as hub:
        for server in config.mcp.servers:
            tools, problems = hub.tools([server.name])
            name = f"mcp {server.name}"
            if problems:
                where = server.url or shlex.join([server.command or "", *server.args])
                why = hub.failure(server.name + "__") or "; ".join(problems)
                fix = (
                    f"check [[mcp.servers]] {server.name!r} in config.toml; try it by hand: {where}"
                )
                out.append(Check(name, "fail", _line(f"does not start: {why}"), fix))
                continue
            listed = ", ".join(t.name for t in tools) or "(none)"
            out.append(Check(name, "ok", _line(f"starts; {len(tools)} tool(s): {listed}")))
    return out


def _source(config: Config) -> str:
    llm = config.llm
    if llm.api_key_file is not None:
        return "[llm] api_key_file"
    if llm.api_key_command is not None:
        return "[llm] api_key_command"
    return llm.api_key_env


def _models(http: Any, base_url: str, shown: str, config: Config) -> tuple[Check, list[str] | None]:
    import httpx

    url = base_url.rstrip("/") + "/models"
    try:
        reply = http.get(url)
    except httpx.HTTPError as exc:
        detail = f"cannot reach {shown}: {type(exc).__name__}: {exc}"
        fix = "start the server (`ollama serve`, `llama-server --jinja ...`) or fix [llm] base_url"
        return Check("reach", "fail", _line(detail), fix), None
    if reply.status_code in (401, 403):
        problem = setup_problem(reply.status_code, _error_text(reply), config.llm)
        fix = problem[1] if problem else "check the API key"
        text = f"{shown} refused the key: HTTP {reply.status_code} {_error_text(reply)}"
        return Check("reach", "fail", _line(text), fix), None
    if reply.status_code != 200:
        return Check(
            "reach", "ok", f"{shown} answers (no model list: HTTP {reply.status_code})"
        ), None
    try:
        data = reply.json()
        models = [str(m["id"]) for m in data.get("data", []) if isinstance(m, dict) and "id" in m]
    except (ValueError, AttributeError, TypeError):
        return Check("reach", "ok", f"{shown} answers (its model list is unreadable)"), None
    return Check("reach", "ok", f"{shown} answers; it offers {len(models)} model(s)"), models


def _model_check(models: list[str] | None, config: Config, *, llamacpp: bool) -> Check:
    model = config.llm.model
    if models is None:
        return Check("model", "skip", "the endpoint does not list its models; the probe tries it")
    if model in models or any(m.rsplit("/", 1)[-1] == model for m in models):
        return Check("model", "ok", f"{model!r} is offered")
    if llamacpp and len(models) == 1:
        return Check(
            "model", "ok", f"llama.cpp serves its one model ({models[0]}) whatever the name"
        )
    offered = ", ".join(models[:8]) + (" ..." if len(models) > 8 else "")
    return Check(
        "model",
        "fail",
        _line(f"{model!r} is not among the models offered: {offered or '(none)'}"),
        f"set [llm] model to one of them (or pull it: `ollama pull {model}`)",
    )


def _tool_probe(http: Any, base_url: str, shown: str, config: Config) -> Check:
    import httpx

    llm = config.llm
    body: dict[str, Any] = {
        "model": llm.model,
        "messages": [{"role": "user", "content": PROBE_ASK}],
        "tools": [PROBE_TOOL],
        "max_tokens": 64,
    }
    if llm.tool_choice == "required":
        body["tool_choice"] = "required"
    try:
        reply = http.post(base_url.rstrip("/") + "/chat/completions", json=body)
    except httpx.TimeoutException:
        return Check("tools", "fail", f"no answer from {shown} within the probe's time", "")
    except httpx.HTTPError as exc:
        return Check("tools", "fail", _line(f"cannot reach {shown}: {exc}"), "start the server")
    if reply.status_code != 200:
        message = _error_text(reply)
        problem = setup_problem(reply.status_code, message, llm)
        fix = problem[1] if problem else "see the server's log"
        return Check("tools", "fail", _line(f"HTTP {reply.status_code}: {message}"), fix)
    try:
        parsed = read_completion(reply.json())
    except ValueError:
        return Check(
            "tools",
            "fail",
            "the reply is not JSON",
            "is [llm] base_url an OpenAI-compatible /v1 URL?",
        )
    except ReplyError as exc:
        problem = setup_problem(None, exc.message, llm)
        return Check("tools", "fail", _line(exc.message), problem[1] if problem else "")
    calls = [c for c in parsed.calls if c.name == "report_word"]
    if calls:
        return Check("tools", "ok", f"a tool call came back: report_word({calls[0].arguments})")
    found = calls_in_text(parsed.text, ["report_word"])
    if found is not None:
        return Check(
            "tools",
            "warn",
            f"the model wrote the call as text ({found.form}); localhb reads it, but the "
            "server is not parsing tool calls",
            "use the model's own chat template (llama.cpp: --jinja), or a model trained for tools",
        )
    said = " ".join(parsed.text.split())[:100]
    return Check(
        "tools",
        "fail",
        _line(f"no tool call came back (finish_reason {parsed.finish_reason or '?'}): {said!r}"),
        "use a model that calls tools (e.g. qwen2.5 7B or larger); try [llm] tool_choice = "
        '"required"; small models answer in text, and localhb counts that as an error',
    )


def _props(http: Any, base_url: str) -> dict[str, Any] | None:
    """llama.cpp's `/props` (beside `/v1`), or None when the server is not llama.cpp."""
    import httpx

    parts = urlsplit(base_url)
    path = parts.path.rstrip("/").removesuffix("/v1") + "/props"
    try:
        reply = http.get(urlunsplit((parts.scheme, parts.netloc, path, "", "")))
        data = reply.json() if reply.status_code == 200 else None
    except (httpx.HTTPError, ValueError):
        return None
    if not isinstance(data, dict) or "chat_template" not in data:
        return None
    return data


def _template_check(data: Mapping[str, Any]) -> Check:
    """Whether llama.cpp's chat template knows tools (it drops tool schemas when not)."""
    caps = data.get("chat_template_caps")
    template = str(data.get("chat_template") or "")
    if isinstance(caps, dict) and "supports_tools" in caps:
        supports = bool(caps["supports_tools"])
    else:
        supports = "tools" in template or "tool_call" in template
    if supports:
        return Check("template", "ok", "llama.cpp's chat template supports tools")
    return Check(
        "template",
        "fail",
        "llama.cpp's chat template has no tool support: the server drops every tool "
        "schema without saying so",
        "start llama-server with --jinja and a tool-capable --chat-template-file "
        "(or a GGUF that carries its own template)",
    )


def _error_text(reply: Any) -> str:
    try:
        data = reply.json()
    except ValueError:
        return " ".join(reply.text.split())[:160]
    if isinstance(data, dict) and "error" in data:
        return provider_message(data["error"])
    return json.dumps(data)[:160]


def _line(text: str, limit: int = 240) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
