"""Redaction (issue 11 D16): URL credentials and the values of variables holding them."""

from __future__ import annotations

from localhb.core.redact import Redactor, fold_controls, strip_url_credentials


def test_url_credentials_are_masked_anywhere() -> None:
    """user:password@ in any URL is masked, whatever the scheme."""
    text = "GET http://bob:hunter2pass@127.0.0.1:9/v1 and postgres://u:pw@db/x"
    assert strip_url_credentials(text) == (
        "GET http://[REDACTED]@127.0.0.1:9/v1 and postgres://[REDACTED]@db/x"
    )


def test_a_variable_holding_a_url_with_credentials_is_a_secret() -> None:
    """DATABASE_URL's whole value, and its password alone, are replaced by name."""
    env = {"DATABASE_URL": "postgres://app:s3cretpassword@db.internal:5432/prod", "HOME": "/h"}
    redact = Redactor.from_env(env)
    assert redact(f"url={env['DATABASE_URL']}") == "url=[REDACTED:DATABASE_URL]"
    assert "s3cretpassword" not in redact("the password is s3cretpassword@db.internal")
    assert redact("home is /h") == "home is /h"


def test_control_characters_are_folded() -> None:
    """ESC sequences, NUL and bidi overrides are shown escaped, not interpreted (D4)."""
    folded = fold_controls("a\x1b[2Jb\x00c\u202ed")
    assert all(ch not in folded for ch in ("\x1b", "\x00", "\u202e"))
    assert "\\x1b[2J" in folded and "\\u202e" in folded
