"""One verified TLS context per process, for every SDK client the agent makes.

The SDK's HTTP client loads the system's CA certificates each time one is
made (about 25 ms, more on a busy machine): once per run, and so once per
wakeup between the request and the first model call. The context is built
once, by the SDK's own HTTP library (so it trusts what the SDK would), and
shared: an `ssl.SSLContext` may serve many connections and threads. Built
again when `SSL_CERT_FILE` or `SSL_CERT_DIR` change.
"""

from __future__ import annotations

import functools
import importlib
import os
import ssl
from typing import Any

__all__ = ["http_client"]


def http_client(openai: Any) -> Any | None:
    """An SDK default HTTP client on the shared context; None: let the SDK make its own."""
    make = getattr(openai, "DefaultHttpxClient", None)
    if make is None:
        return None
    ctx = _context(make, os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))
    return None if ctx is None else make(verify=ctx)


@functools.lru_cache(maxsize=4)
def _context(make: Any, cafile: str | None, capath: str | None) -> ssl.SSLContext | None:
    """The context the SDK's HTTP library builds by default (cafile/capath: the cache key)."""
    del cafile, capath
    for base in make.__mro__[1:]:
        library = importlib.import_module(base.__module__.split(".")[0])
        create = getattr(library, "create_ssl_context", None)
        if callable(create):
            ctx = create()
            return ctx if isinstance(ctx, ssl.SSLContext) else None
    return None
