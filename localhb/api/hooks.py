"""Webhooks: a wakeup named in the URL, the body as its payload, GitHub's signature.

A webhook sender decides the body (GitHub's event, a CI system's report), and
GitHub cannot send a bearer token at all. So `POST /api/wakeup` also takes
the wakeup from the query string, and then the whole body is its payload:

    POST /api/wakeup?task=<id>            run that task with the body as payload
    POST /api/wakeup?prompt=<text>[&title=<text>]

and, instead of `Authorization: Bearer`, GitHub's `X-Hub-Signature-256:
sha256=<hex>`: the HMAC-SHA256 of the body keyed with the API token (the
token is the webhook's secret), compared in constant time. GitHub's delivery
id (`X-GitHub-Delivery`) is the idempotency key, so a redelivery runs nothing
twice, and its `ping` event (sent when the hook is made) runs nothing. Both
of GitHub's content types are read: JSON, and the form `payload=<JSON>`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from urllib.parse import parse_qs

from localhb.api.body import BadRequest

__all__ = ["DELIVERY", "EVENT", "SIGNATURE", "hook_body", "is_ping", "signed"]

SIGNATURE = "X-Hub-Signature-256"
DELIVERY = "X-GitHub-Delivery"
EVENT = "X-GitHub-Event"
QUERY_FIELDS = ("task", "prompt", "title")


def signed(signature: str | None, body: bytes, token: str | None) -> bool:
    """Whether `signature` is `sha256=` + the HMAC-SHA256 of `body` under `token`."""
    if not signature or token is None:
        return False
    want = "sha256=" + hmac.new(token.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(signature.strip().lower().encode(), want.encode())


def is_ping(event: str | None) -> bool:
    """`event` (the `X-GitHub-Event` header) is GitHub's `ping`, sent when a webhook
    is created: answered, never run."""
    return (event or "").strip().lower() == "ping"


def hook_body(query: str, body: bytes, delivery: str | None) -> bytes:
    """The wakeup body for a webhook request: the query's task or prompt, the body
    (any JSON, or none) as payload, the delivery id (`X-GitHub-Delivery`) as
    idempotency key."""
    try:
        fields = parse_qs(query, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        raise BadRequest("the query string cannot be read") from None
    unknown = sorted(k for k in fields if k not in QUERY_FIELDS)
    if unknown:
        raise BadRequest(
            f"unknown query parameter; known are {', '.join(QUERY_FIELDS)}", field=unknown[0]
        )
    wakeup: dict[str, object] = {}
    for name, values in fields.items():
        if len(values) > 1:
            raise BadRequest("is given more than once", field=name)
        wakeup[name] = values[0]
    if "task" not in wakeup and "prompt" not in wakeup:
        raise BadRequest("a webhook names ?task=<id> or ?prompt=<text>", field="task")
    if body.startswith(b"payload="):  # GitHub's default content type: the JSON, form-encoded
        try:
            body = parse_qs(body.decode("utf-8"), strict_parsing=True)["payload"][0].encode()
        except (UnicodeDecodeError, ValueError, KeyError):
            raise BadRequest("the form-encoded body cannot be read", field="payload") from None
    if body.strip():
        try:
            wakeup["payload"] = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise BadRequest(
                "a webhook's body must be JSON",
                field="payload",
            ) from None
    if delivery and delivery.strip():
        wakeup["idempotency_key"] = f"github:{delivery.strip()}"
    return json.dumps(wakeup).encode("utf-8")
