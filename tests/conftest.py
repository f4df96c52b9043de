"""Shared fixtures: a clean environment for every test, the scripted model server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.scripted_llm import ScriptedLLM

SHARED = Path(__file__).resolve().parents[2] / "shared"
CORPUS = SHARED / "corpus" / "heartbeat"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No test sees the developer's keys, endpoints or home."""
    for name in list(os.environ):
        if name.startswith(("OPENAI_", "LOCALHB_")):
            monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("LOCALHB_HOME", str(home / ".localhb"))
    monkeypatch.setenv("TZ", "UTC")
    yield


@pytest.fixture
def server() -> Iterator[ScriptedLLM]:
    """The scripted OpenAI-compatible server on 127.0.0.1 (tests/scripted_llm.py)."""
    llm = ScriptedLLM().start()
    try:
        yield llm
    finally:
        llm.stop()
