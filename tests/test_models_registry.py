"""Spec parsing, the provider registry, entry points, the default spec, errors."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from claude_like.models import (
    ENV_VAR,
    ModelInfo,
    UnknownProviderError,
    available_providers,
    make_chat_model,
    model_info,
    parse_spec,
    register_provider,
    unregister_provider,
)
from claude_like.models.base import attach_info
from claude_like.models.registry import default_spec


@pytest.mark.parametrize(
    ("spec", "provider", "model", "options"),
    [
        ("ollama:qwen2.5-coder:7b", "ollama", "qwen2.5-coder:7b", {}),
        ("llamacpp:smollm2", "llamacpp", "smollm2", {}),
        ("llamacpp:", "llamacpp", "", {}),
        ("OpenAI:gpt-4.1-mini", "openai", "gpt-4.1-mini", {}),
        ("anthropic:claude-sonnet-4-5", "anthropic", "claude-sonnet-4-5", {}),
        (
            "llamacpp:qwen?api=anthropic&tool_calling=constrained&max_tokens=512&check=false",
            "llamacpp",
            "qwen",
            {"api": "anthropic", "tool_calling": "constrained", "max_tokens": 512,
             "check": False},
        ),
        (
            "openai-compatible:deepseek-chat?base_url=http://h:1/v1",
            "openai-compatible",
            "deepseek-chat",
            {"base_url": "http://h:1/v1"},
        ),
        ("  ollama:llama3.2 ", "ollama", "llama3.2", {}),
    ],
)
def test_parse_spec(spec: str, provider: str, model: str, options: dict[str, Any]) -> None:
    parsed = parse_spec(spec)
    assert (parsed.provider, parsed.model, parsed.options) == (provider, model, options)


@pytest.mark.parametrize("spec", ["", "   ", "gpt-4o"])
def test_parse_spec_rejects_specs_without_provider(spec: str) -> None:
    with pytest.raises(ValueError, match="provider"):
        parse_spec(spec)


def test_builtin_providers_are_listed() -> None:
    names = available_providers()
    for name in ("ollama", "llamacpp", "llamacpp-anthropic", "openai", "anthropic",
                 "openai-compatible", "embedded"):
        assert name in names


def test_unknown_provider_says_what_is_known() -> None:
    with pytest.raises(UnknownProviderError) as err:
        make_chat_model("nosuchthing:model")
    assert "nosuchthing" in str(err.value)
    assert "ollama" in str(err.value) and "register_provider" in str(err.value)


def _fake_factory(model: str, **kw: Any) -> BaseChatModel:
    chat = FakeListChatModel(responses=[f"{model} {sorted(kw.items())}"])
    return attach_info(chat, ModelInfo(provider="fake", model=model, context_window=1234))


def test_register_provider_and_options_and_overrides() -> None:
    register_provider("fakeprov", _fake_factory)
    try:
        chat = make_chat_model("fakeprov:m1?temperature=0.5&max_tokens=10", max_tokens=20)
        assert chat.invoke("hi").content == "m1 [('max_tokens', 20), ('temperature', 0.5)]"
        info = model_info(chat.bind(stop=["x"]))
        assert info is not None and info.context_window == 1234
    finally:
        unregister_provider("fakeprov")
    with pytest.raises(UnknownProviderError):
        make_chat_model("fakeprov:m1")


def test_register_provider_refuses_to_replace_when_asked() -> None:
    register_provider("fakeprov2", _fake_factory)
    try:
        with pytest.raises(ValueError, match="already registered"):
            register_provider("fakeprov2", _fake_factory, replace=False)
    finally:
        unregister_provider("fakeprov2")


def test_entry_point_provider(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A distribution declaring ``[claude_like.models] myprov = mypkg:factory`` is found."""
    (tmp_path / "cl_plugin_demo.py").write_text(textwrap.dedent("""
        from langchain_core.language_models.fake_chat_models import FakeListChatModel

        def factory(model, **kw):
            return FakeListChatModel(responses=["from plugin " + model])
    """))
    dist = tmp_path / "cl_plugin_demo-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: cl-plugin-demo\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(
        "[claude_like.models]\ndemoplugin = cl_plugin_demo:factory\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        assert "demoplugin" in available_providers()
        chat = make_chat_model("demoplugin:tiny")
        assert chat.invoke("hi").content == "from plugin tiny"
    finally:
        unregister_provider("demoplugin")
        sys.modules.pop("cl_plugin_demo", None)


def test_default_spec_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    register_provider("fakeprov3", _fake_factory)
    try:
        monkeypatch.setenv(ENV_VAR, "fakeprov3:from-env")
        assert default_spec() == "fakeprov3:from-env"
        assert make_chat_model().invoke("hi").content.startswith("from-env")
    finally:
        unregister_provider("fakeprov3")


def test_default_spec_without_env_or_server_is_embedded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.setenv("LLAMACPP_BASE_URL", "http://127.0.0.1:9")  # nothing listens on 9
    assert default_spec() == "embedded:"


def test_model_info_is_none_for_foreign_models() -> None:
    assert model_info(FakeListChatModel(responses=["x"])) is None
