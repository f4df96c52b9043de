"""`- Check:` lines: gates evaluated by code, never by a model. Pure: parsing only.

    Check: <command>                   met when the command exits 0 (read-only policy)
    Check: GET <url> is <status>       met when the response status is <status>
    Check: GET <url> contains <text>   met when the response body contains <text>
    Check: file <path> exists          met when the path exists
    Check: file <path> changed         met when its size/mtime/content hash differ
                                       from the last check (the first check only
                                       records it)
    Check: new failures                met when the ledger has a failed run (or a
                                       failed tool call) of another task since this
                                       task's last run (the audit routine's gate)

`localhb.agent.checks` evaluates them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class CheckKind(StrEnum):
    COMMAND = "command"
    HTTP_STATUS = "http-status"
    HTTP_CONTAINS = "http-contains"
    FILE_EXISTS = "file-exists"
    FILE_CHANGED = "file-changed"
    NEW_FAILURES = "new-failures"


@dataclass(frozen=True, slots=True)
class CheckSpec:
    """One parsed `Check:` value. `target` is the command, URL or path."""

    kind: CheckKind
    target: str
    expect: str = ""

    def describe(self) -> str:
        if self.kind is CheckKind.COMMAND:
            return f"command `{self.target}` exits 0"
        if self.kind is CheckKind.HTTP_STATUS:
            return f"GET {self.target} is {self.expect}"
        if self.kind is CheckKind.HTTP_CONTAINS:
            return f"GET {self.target} contains {self.expect!r}"
        if self.kind is CheckKind.FILE_EXISTS:
            return f"file {self.target} exists"
        if self.kind is CheckKind.NEW_FAILURES:
            return "new failures in the ledger since the last run"
        return f"file {self.target} changed"


class CheckSyntaxError(ValueError):
    """A `Check:` value that starts like a GET or file check but is not one."""


_GET = re.compile(r"^GET\s+(?P<url>\S+)\s+(?P<op>is|contains)\s+(?P<arg>.+?)\s*$", re.IGNORECASE)
_NEW_FAILURES = re.compile(r"^new failures(?: since (?:the )?last run)?$", re.IGNORECASE)
_FILE = re.compile(r"^file\s+(?P<path>.+?)\s+(?P<op>exists|changed)\s*$", re.IGNORECASE)


def parse_check(value: str) -> CheckSpec:
    """The check `value` describes; CheckSyntaxError when it cannot be one."""
    text = value.strip()
    if len(text) >= 2 and text[0] == text[-1] == "`":
        text = text[1:-1].strip()
    if not text:
        raise CheckSyntaxError("Check: is empty")
    if _NEW_FAILURES.match(text):
        return CheckSpec(CheckKind.NEW_FAILURES, "ledger")
    head = text.split(None, 1)[0]
    if head == "GET" or (head.lower() == "get" and "://" in text):
        m = _GET.match(text)
        if m is None:
            raise CheckSyntaxError(
                f"Check: cannot read {text!r}; write `GET <url> is 200` or "
                "`GET <url> contains <text>`"
            )
        url, op, arg = m.group("url"), m.group("op").lower(), m.group("arg")
        if not re.match(r"https?://[^/\s]", url, re.IGNORECASE):
            raise CheckSyntaxError(
                f"Check: {url!r} is not a URL; write it with http:// or https:// "
                f"(`GET https://{url.split('://')[-1]} {op} ...`)"
            )
        if op == "is":
            if not re.fullmatch(r"[1-5]\d\d", arg):
                raise CheckSyntaxError(f"Check: {arg!r} is not an HTTP status like 200")
            return CheckSpec(CheckKind.HTTP_STATUS, url, arg)
        if len(arg) >= 2 and arg[0] == arg[-1] and arg[0] in "\"'`":
            arg = arg[1:-1]
        return CheckSpec(CheckKind.HTTP_CONTAINS, url, arg)
    if head.lower() == "file":
        m = _FILE.match(text)
        if m is not None:
            path = m.group("path").strip().strip("`\"'")
            kind = (
                CheckKind.FILE_EXISTS
                if m.group("op").lower() == "exists"
                else CheckKind.FILE_CHANGED
            )
            return CheckSpec(kind, path)
        raise CheckSyntaxError(
            f"Check: cannot read {text!r}; write `file <path> exists` or `file <path> changed`"
        )
    return CheckSpec(CheckKind.COMMAND, text)
