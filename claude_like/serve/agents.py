"""How the server builds one session's agent: the model (resolved once at startup from a
spec, or given), the sandbox kind, the server-wide agent options and the session's own.

A spec is resolved when the server starts, so an unknown provider or a server that does
not answer stops ``claude-like serve`` with the factory's own message instead of failing
the first request. The resolved model is shared by every session (a chat model holds a
client, no conversation); a factory callable makes a fresh model per session instead.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel

from claude_like.agent import ClaudeLikeAgent
from claude_like.sessions import SessionStore
from claude_like.tools import TOOL_CLASSES

ModelSource = str | BaseChatModel | Callable[[], BaseChatModel]
SANDBOX_KINDS = ("docker", "local")
SERVER_OWNED = frozenset({"model", "workspace", "sandbox", "thread_id", "resume", "checkpointer",
                          "continue_conversation", "fork_session", "session_store", "persist"})
"""Agent options the server decides itself (per session, or through its own arguments)."""


class ModelUnavailable(RuntimeError):
    """The model the server was started with cannot be used."""


class AgentFactory:
    """Builds a :class:`ClaudeLikeAgent` for a session id and workspace folder."""

    def __init__(self, model: ModelSource, *, sandbox: str, options: dict[str, Any],
                 store: SessionStore | None) -> None:
        if sandbox not in SANDBOX_KINDS:
            raise ValueError(f"unknown sandbox {sandbox!r}: use 'docker' or 'local'")
        owned = sorted(SERVER_OWNED & set(options))
        if owned:
            raise ValueError(f"agent options {owned} are set by the server, not in agent_options")
        self.sandbox = sandbox
        self.options = dict(options)
        self.store = store
        self.spec = model if isinstance(model, str) else None
        self._shared: BaseChatModel | None = None
        self._factory: Callable[[], BaseChatModel] | None = None
        if isinstance(model, str):
            self._shared = load_model(model)
        elif isinstance(model, BaseChatModel):
            self._shared = model
        elif callable(model):
            self._factory = model
        else:
            raise TypeError(f"model must be a spec, a chat model or a factory, not {model!r}")

    @property
    def model_name(self) -> str:
        if self.spec is not None:
            return self.spec
        model = self._shared
        if model is None:
            return "custom"
        return str(getattr(model, "model_name", None) or getattr(model, "model", None)
                   or type(model).__name__)

    def tool_names(self) -> list[str]:
        """The tools a session's agent offers (ExitPlanMode is added in plan mode)."""
        tools = self.options.get("tools")
        names = ([t.name for t in tools] if tools is not None
                 else [cls.model_fields["name"].default for cls in TOOL_CLASSES])
        return names + [t.name for t in self.options.get("extra_tools", ())]

    def build(self, session_id: str, workspace: Path,
              session_options: dict[str, Any]) -> ClaudeLikeAgent:
        """The agent of ``session_id`` (a new session, or one the store knows); blocking."""
        model = self._factory() if self._factory is not None else self._shared
        options = {**self.options, **{k: v for k, v in session_options.items()
                                      if k != "workspace"}}
        storage: dict[str, Any] = ({"session_store": self.store} if self.store is not None
                                   else {"persist": False})
        return ClaudeLikeAgent(model, workspace=workspace, sandbox=self.sandbox,
                               thread_id=session_id, **storage, **options)


def load_model(spec: str) -> BaseChatModel:
    """The chat model of ``spec``, or :class:`ModelUnavailable` saying why not."""
    from claude_like.models import make_chat_model

    try:
        return make_chat_model(spec)
    except Exception as exc:
        raise ModelUnavailable(f"cannot use model {spec!r}: {exc}") from exc
