"""Spec string -> chat model: ``make_chat_model("provider:model?option=value", **overrides)``.

Providers are factories ``(model: str, **options) -> BaseChatModel``. Built-ins are below;
users add theirs with ``register_provider(name, factory)`` or a Python entry point in the
group ``claude_like.models`` (name = provider, value = the factory). With no spec, the
``CLAUDE_LIKE_MODEL`` environment variable decides, so switching between a local server
and a cloud API needs no code change; with neither, a llama-server already answering at
``LLAMACPP_BASE_URL`` (or 127.0.0.1:8080) is used, else the embedded managed llama-server.

Options in the spec's query string (``llamacpp:qwen?api=anthropic&tool_calling=auto``)
are passed to the factory like keyword overrides (which win over them).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any
from urllib.parse import parse_qsl

import httpx
from langchain_core.language_models import BaseChatModel

ENV_VAR = "CLAUDE_LIKE_MODEL"
ENTRY_POINT_GROUP = "claude_like.models"

ProviderFactory = Callable[..., BaseChatModel]


class UnknownProviderError(ValueError):
    """The spec names a provider that is neither built in, registered nor an entry point."""


@dataclass(frozen=True)
class ModelSpec:
    """A parsed spec: ``provider:model?key=value&...``."""

    provider: str
    model: str
    options: dict[str, Any] = field(default_factory=dict)


def _coerce(value: str) -> Any:
    low = value.lower()
    if low in ("true", "yes", "on"):
        return True
    if low in ("false", "no", "off"):
        return False
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    return value


def parse_spec(spec: str) -> ModelSpec:
    """Split ``provider:model?opts`` (the model may itself hold colons: ``ollama:qwen3:8b``)."""
    spec = spec.strip()
    if not spec:
        raise ValueError("empty model spec: use 'provider:model', e.g. 'ollama:qwen2.5-coder:7b'")
    head, _, query = spec.partition("?")
    provider, sep, model = head.partition(":")
    if not sep:
        raise ValueError(
            f"model spec {spec!r} has no provider: use 'provider:model' "
            f"(providers: {', '.join(available_providers())})"
        )
    options = {k: _coerce(v) for k, v in parse_qsl(query, keep_blank_values=True)}
    return ModelSpec(provider=provider.strip().lower(), model=model.strip(), options=options)


_PROVIDERS: dict[str, ProviderFactory] = {}


def register_provider(name: str, factory: ProviderFactory, *, replace: bool = True) -> None:
    """Make ``name:<model>`` specs build chat models with ``factory(model, **options)``."""
    key = name.strip().lower()
    if not replace and key in _PROVIDERS:
        raise ValueError(f"provider {name!r} is already registered")
    _PROVIDERS[key] = factory


def unregister_provider(name: str) -> None:
    """Forget a registered provider (tests, plugins that unload)."""
    _PROVIDERS.pop(name.strip().lower(), None)


def _entry_point_factory(name: str) -> ProviderFactory | None:
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name.lower() == name:
            factory = ep.load()
            _PROVIDERS[name] = factory
            return factory
    return None


def get_provider(name: str) -> ProviderFactory:
    """The factory for ``name``: registered, built in, or from an entry point."""
    key = name.strip().lower()
    _register_builtins()
    factory = _PROVIDERS.get(key) or _entry_point_factory(key)
    if factory is None:
        raise UnknownProviderError(
            f"unknown model provider {name!r}; known: {', '.join(available_providers())} "
            f"(add one with register_provider() or an entry point in {ENTRY_POINT_GROUP!r})"
        )
    return factory


def available_providers() -> list[str]:
    """Names usable before the colon of a spec."""
    _register_builtins()
    names = set(_PROVIDERS)
    with contextlib.suppress(Exception):  # a broken distribution must not hide built-ins
        names.update(ep.name.lower() for ep in entry_points(group=ENTRY_POINT_GROUP))
    return sorted(names)


def default_spec() -> str:
    """``CLAUDE_LIKE_MODEL``, else a llama-server answering at the default URL, else embedded."""
    spec = os.environ.get(ENV_VAR, "").strip()
    if spec:
        return spec
    from claude_like.models.llamacpp import server_root

    root = server_root(None)
    try:
        if httpx.get(f"{root}/health", timeout=1.0).status_code in (200, 503):
            return "llamacpp:default"
    except httpx.HTTPError:
        pass
    return "embedded:"


def make_chat_model(spec: str | None = None, **overrides: Any) -> BaseChatModel:
    """A ready chat model for ``spec`` (or the default): its server has been checked.

    Common overrides: ``base_url``, ``api_key``, ``max_tokens`` (generation cap),
    ``tool_calling`` (``native``/``constrained``/``auto``), ``check=False`` (skip the
    readiness probe), ``num_ctx`` (Ollama), ``api`` (``openai``/``anthropic``, llama.cpp).
    """
    parsed = parse_spec(spec if spec is not None else default_spec())
    factory = get_provider(parsed.provider)
    return factory(parsed.model, **{**parsed.options, **overrides})


def resolve_model(model: BaseChatModel | str | None) -> BaseChatModel:
    """A chat model from an instance, a spec like ``ollama:qwen2.5-coder:7b``, or the
    default spec."""
    return model if isinstance(model, BaseChatModel) else make_chat_model(model)


_BUILTINS_DONE = False


def _register_builtins() -> None:
    global _BUILTINS_DONE
    if _BUILTINS_DONE:
        return
    _BUILTINS_DONE = True

    def ollama(model: str, **kw: Any) -> BaseChatModel:
        from claude_like.models.ollama import make_ollama

        return make_ollama(model, **kw)

    def llamacpp(model: str, **kw: Any) -> BaseChatModel:
        from claude_like.models.llamacpp import make_llamacpp

        return make_llamacpp(model, **kw)

    def llamacpp_anthropic(model: str, **kw: Any) -> BaseChatModel:
        from claude_like.models.llamacpp import make_llamacpp_anthropic

        return make_llamacpp_anthropic(model, **kw)

    def openai(model: str, **kw: Any) -> BaseChatModel:
        from claude_like.models.openai import make_openai

        return make_openai(model, **kw)

    def anthropic(model: str, **kw: Any) -> BaseChatModel:
        from claude_like.models.anthropic import make_anthropic

        return make_anthropic(model, **kw)

    def openai_compatible(model: str, **kw: Any) -> BaseChatModel:
        from claude_like.models.openai_compatible import make_openai_compatible

        return make_openai_compatible(model, **kw)

    def embedded(model: str, **kw: Any) -> BaseChatModel:
        from claude_like.models.embedded import make_embedded

        return make_embedded(model, **kw)

    def claude_code(model: str, **kw: Any) -> BaseChatModel:
        from claude_like.models.claude_code import make_claude_code

        return make_claude_code(model, **kw)

    for name, factory in {
        "ollama": ollama,
        "llamacpp": llamacpp,
        "llama.cpp": llamacpp,
        "llama-cpp": llamacpp,
        "llamacpp-anthropic": llamacpp_anthropic,
        "openai": openai,
        "anthropic": anthropic,
        "openai-compatible": openai_compatible,
        "embedded": embedded,
        "claude-code": claude_code,
    }.items():
        _PROVIDERS.setdefault(name, factory)
