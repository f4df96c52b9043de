"""The agent's SDK clients share one verified TLS context (built once, not per run)."""

from __future__ import annotations

import ssl

import openai
import pytest

from localhb.agent import tls


def test_clients_share_one_verified_context(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two clients: the context is built once and verifies certificates and host names;
    a changed SSL_CERT_FILE builds it again."""
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    tls._context.cache_clear()
    first, second = tls.http_client(openai), tls.http_client(openai)
    try:
        assert first is not None and second is not None and first is not second
        info = tls._context.cache_info()
        assert (info.misses, info.hits) == (1, 1)
        ctx = tls._context(openai.DefaultHttpxClient, None, None)
        assert isinstance(ctx, ssl.SSLContext)
        assert ctx.verify_mode is ssl.CERT_REQUIRED and ctx.check_hostname
    finally:
        first.close()
        second.close()
    monkeypatch.setenv("SSL_CERT_FILE", "/nonexistent/ca.pem")
    tls._context.cache_clear()
    with pytest.raises((FileNotFoundError, OSError)):
        tls.http_client(openai)  # the SDK's own library reads the variable, as it would
