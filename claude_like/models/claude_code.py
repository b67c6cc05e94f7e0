"""``claude-code:<model>``: a LangChain chat model that runs the Claude Code CLI.

For a Claude subscription (or key) used from a LangChain pipeline: each call flattens the
conversation into one prompt, runs Claude Code on it through ``claude-agent-sdk`` (which
runs the CLI as a subprocess), and returns its text and usage. Claude Code runs its own
tools (Read, Edit, Bash, ...) in ``cwd`` under its own permission mode; what it did is in
``response_metadata["claude_code"]["tool_activity"]`` and, while streaming, in LangChain
custom events ``claude_code_tool_use`` / ``claude_code_tool_result``. Our tools cannot be
bound to it: ``bind_tools`` raises, so ``ClaudeLikeAgent(model="claude-code:...")``
fails at construction with that message instead of running a loop that cannot work.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextvars import ContextVar, Token
from dataclasses import fields
from typing import Any
from uuid import UUID, uuid4

from langchain_core.callbacks import (
    AsyncCallbackManager,
    AsyncCallbackManagerForLLMRun,
    CallbackManager,
    CallbackManagerForLLMRun,
)
from langchain_core.callbacks.manager import adispatch_custom_event, dispatch_custom_event
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable, RunnableConfig, ensure_config
from pydantic import Field, field_validator

from claude_like.async_bridge import run_blocking
from claude_like.models.base import ModelInfo, ModelUnavailableError, attach_info, known_window
from claude_like.models.claude_cli import (
    INSTALL_HINT,
    ClaudeCodeError,
    require_claude_cli,
)
from claude_like.models.claude_code_transcript import Step, Transcript, flatten

PROVIDER = "claude-code"
#: Custom event names (``astream_events``: ``on_custom_event`` with this ``name``).
TOOL_USE_EVENT = "claude_code_tool_use"
TOOL_RESULT_EVENT = "claude_code_tool_result"
_DONE = object()


class ClaudeCodeToolsNotSupported(NotImplementedError):
    """Our tools cannot be bound to Claude Code: it runs its own."""


def _sdk() -> Any:
    try:
        import claude_agent_sdk
    except ImportError as exc:
        raise ModelUnavailableError("claude-agent-sdk is not installed",
                                    hint=INSTALL_HINT) from exc
    return claude_agent_sdk


class ChatClaudeCode(BaseChatModel):
    """Claude Code as a chat model: text in, Claude Code's text, usage and tool activity out.

    The fields named as the SDK's ``ClaudeAgentOptions`` are passed to it as they are;
    ``options`` holds any other of its fields (``tools``, ``resume``, ``max_budget_usd``,
    ``setting_sources``, ``extra_args={"bare": None}`` ...). System messages of the
    conversation join ``system_prompt`` (or its ``append``, for Claude Code's preset).
    """

    model: str | None = None
    """``sonnet``, ``opus``, ``haiku`` or a full model id; None: the CLI's default."""
    permission_mode: str | None = None
    """``default`` | ``acceptEdits`` | ``plan`` | ``bypassPermissions`` (Claude Code's)."""
    allowed_tools: list[str] = Field(default_factory=list)
    disallowed_tools: list[str] = Field(default_factory=list)
    max_turns: int | None = None
    cwd: str | None = None
    system_prompt: str | dict[str, Any] | None = None
    env: dict[str, str] = Field(default_factory=dict)
    """Added to the CLI's environment (e.g. ``ANTHROPIC_BASE_URL`` of a gateway)."""
    cli_path: str | None = None
    """The ``claude`` binary; None: ``find_claude_cli()``."""
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("allowed_tools", "disallowed_tools", mode="before")
    @classmethod
    def _split_rules(cls, value: Any) -> Any:
        """A spec's query string gives one string: ``allowed_tools=Read,Bash(git:*)``."""
        return _split_outside_parens(value) if isinstance(value, str) else value

    def model_post_init(self, context: Any) -> None:
        attach_info(self, ModelInfo(provider=PROVIDER, model=self.model or "default",
                                    context_window=known_window("claude-"),
                                    tool_calling="none", api="claude-code"))

    @property
    def _llm_type(self) -> str:
        return PROVIDER

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model": self.model, "permission_mode": self.permission_mode,
                "cwd": self.cwd, "max_turns": self.max_turns}

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> Runnable:
        """Refused: Claude Code calls only its own tools (Read, Edit, Bash, ...)."""
        raise ClaudeCodeToolsNotSupported(
            "claude-code models run Claude Code's own tools; tools cannot be bound to them "
            "(so ClaudeLikeAgent cannot drive one). Call the model directly "
            "(invoke/stream: Claude Code works in `cwd` with its tools), or give "
            "ClaudeLikeAgent another model, e.g. 'anthropic:claude-sonnet-4-5'.")

    # -- one run ---------------------------------------------------------------------------
    def _agent_options(self, system: str, *, partial: bool, stderr: Callable[[str], None]
                       ) -> Any:
        sdk = _sdk()
        known = {f.name for f in fields(sdk.ClaudeAgentOptions)}
        unknown = sorted(set(self.options) - known)
        if unknown:
            raise ValueError(f"unknown ClaudeAgentOptions field(s) {unknown}")
        chosen: dict[str, Any] = {
            "model": self.model, "permission_mode": self.permission_mode,
            "allowed_tools": list(self.allowed_tools),
            "disallowed_tools": list(self.disallowed_tools), "max_turns": self.max_turns,
            "cwd": self.cwd, "env": dict(self.env),
            "system_prompt": _merge_system(self.system_prompt, system),
            "cli_path": require_claude_cli(self.cli_path),
            "include_partial_messages": partial, "stderr": stderr,
        }
        return sdk.ClaudeAgentOptions(**{**chosen, **self.options})

    async def _steps(self, messages: list[BaseMessage], transcript: Transcript, *,
                     partial: bool) -> AsyncIterator[Step]:
        """Runs Claude Code once; yields text and tool activity as they come."""
        system, prompt = flatten(messages)
        stderr_tail: list[str] = []
        options = self._agent_options(system, partial=partial,
                                      stderr=lambda line: stderr_tail.append(line))
        sdk = _sdk()
        try:
            async for message in sdk.query(prompt=prompt, options=options):
                for step in transcript.feed(message):
                    yield step
        except sdk.CLINotFoundError as exc:
            raise ModelUnavailableError(f"Claude Code CLI not found: {exc}",
                                        hint=INSTALL_HINT) from exc
        except sdk.ResultError as exc:
            raise transcript.error(status=exc.api_error_status, text=exc.result) from exc
        except sdk.ProcessError as exc:
            said = "\n".join(stderr_tail[-20:]) or exc.stderr or str(exc)
            raise transcript.error(text=said) from exc
        except sdk.ClaudeSDKError as exc:
            raise ClaudeCodeError(f"Claude Code failed: {exc}",
                                  session_id=transcript.session_id) from exc
        if transcript.result is None:
            raise ClaudeCodeError("Claude Code ended without a result: "
                                  + ("\n".join(stderr_tail[-20:]) or "no output"),
                                  session_id=transcript.session_id)

    def _reply(self, text: str, transcript: Transcript) -> AIMessage:
        return AIMessage(content=text, usage_metadata=transcript.usage(),
                         response_metadata=transcript.metadata())

    async def _agenerate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                         run_manager: AsyncCallbackManagerForLLMRun | None = None,
                         **kwargs: Any) -> ChatResult:
        transcript = Transcript()
        texts = [step.text async for step in self._steps(messages, transcript, partial=False)]
        reply = self._reply("".join(texts), transcript)
        return ChatResult(generations=[ChatGeneration(message=reply)])

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None,
                  **kwargs: Any) -> ChatResult:
        return run_blocking(lambda: self._agenerate(messages, stop, **kwargs))

    # -- streaming: text chunks, and Claude Code's tool activity as custom events ---------
    async def astream(self, input: LanguageModelInput, config: RunnableConfig | None = None,
                      *, stop: list[str] | None = None, **kwargs: Any
                      ) -> AsyncIterator[AIMessageChunk]:
        """LangChain's ``astream``, with this run's id known to ``_astream`` (which
        LangChain gives no run manager) so that the custom events belong to this run."""
        config, token = _enter_run(config)
        try:
            async for chunk in super().astream(input, config, stop=stop, **kwargs):
                yield chunk
        finally:
            _leave_run(token)

    def stream(self, input: LanguageModelInput, config: RunnableConfig | None = None,
               *, stop: list[str] | None = None, **kwargs: Any) -> Iterator[AIMessageChunk]:
        config, token = _enter_run(config)
        try:
            yield from super().stream(input, config, stop=stop, **kwargs)
        finally:
            _leave_run(token)

    async def _astream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                       run_manager: AsyncCallbackManagerForLLMRun | None = None,
                       **kwargs: Any) -> AsyncIterator[ChatGenerationChunk]:
        transcript = Transcript()
        async for step in self._steps(messages, transcript, partial=True):
            if step.activity is None:
                yield ChatGenerationChunk(message=AIMessageChunk(content=step.text))
                continue
            with contextlib.suppress(RuntimeError):  # no run to attach it to
                await adispatch_custom_event(_event_name(step), step.activity,
                                             config=self._event_config(AsyncCallbackManager))
        yield _last_chunk(transcript)

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                run_manager: CallbackManagerForLLMRun | None = None,
                **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        """The async run on a worker thread's loop, handed over step by step."""
        transcript = Transcript()
        for step in _pump(lambda: self._steps(messages, transcript, partial=True)):
            if step.activity is None:
                yield ChatGenerationChunk(message=AIMessageChunk(content=step.text))
                continue
            with contextlib.suppress(RuntimeError):
                dispatch_custom_event(_event_name(step), step.activity,
                                      config=self._event_config(CallbackManager))
        yield _last_chunk(transcript)

    def _event_config(self, manager_type: Any) -> RunnableConfig | None:
        """Callbacks whose parent is this model's run (None: the enclosing runnable's)."""
        current = _RUN.get()
        if current is None:
            return None
        run_id, config = current
        manager = manager_type.configure(config.get("callbacks"), self.callbacks,
                                         self.verbose, config.get("tags"), self.tags,
                                         config.get("metadata"), self.metadata)
        manager.parent_run_id = run_id
        return {"callbacks": manager}


_RUN: ContextVar[tuple[UUID, RunnableConfig] | None] = ContextVar("claude_code_run",
                                                                  default=None)


def _enter_run(config: RunnableConfig | None) -> tuple[RunnableConfig, Token[Any]]:
    """The config with a fixed run id (LangChain uses ``config["run_id"]``), remembered."""
    config = ensure_config(config)
    run_id = config.get("run_id") or uuid4()
    config = {**config, "run_id": run_id}
    return config, _RUN.set((run_id, config))


def _leave_run(token: Token[Any]) -> None:
    with contextlib.suppress(ValueError):  # a generator closed from another context
        _RUN.reset(token)


def _event_name(step: Step) -> str:
    assert step.activity is not None
    return TOOL_USE_EVENT if step.activity["type"] == "tool_use" else TOOL_RESULT_EVENT


def _last_chunk(transcript: Transcript) -> ChatGenerationChunk:
    """Usage and metadata travel once, on the last chunk (merged chunks add them up)."""
    return ChatGenerationChunk(message=AIMessageChunk(
        content="", usage_metadata=transcript.usage(),
        response_metadata=transcript.metadata(), chunk_position="last"))


def _pump(make: Callable[[], AsyncIterator[Step]]) -> Iterator[Step]:
    """Iterate an async generator from sync code: it runs on a fresh loop in a thread."""
    handoff: queue.Queue[Any] = queue.Queue()

    async def drain() -> None:
        try:
            async for item in make():
                handoff.put(item)
        except BaseException as exc:
            handoff.put(exc)
        finally:
            handoff.put(_DONE)

    worker = threading.Thread(target=lambda: asyncio.run(drain()), name="claude-code-stream",
                              daemon=True)
    worker.start()
    try:
        while (item := handoff.get()) is not _DONE:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        worker.join()


def _split_outside_parens(text: str) -> list[str]:
    """``"Read, Bash(git diff:*)"`` -> ``["Read", "Bash(git diff:*)"]``."""
    rules, current, depth = [], "", 0
    for char in text:
        depth += (char == "(") - (char == ")")
        if depth == 0 and (char == "," or char.isspace()):
            rules.append(current)
            current = ""
        else:
            current += char
    return [r for r in (*rules, current) if r]


def _merge_system(configured: str | dict[str, Any] | None, from_messages: str
                  ) -> str | dict[str, Any] | None:
    """The system prompt option with the conversation's system messages added."""
    if not from_messages:
        return configured
    if configured is None:
        return from_messages
    if isinstance(configured, str):
        return f"{configured}\n\n{from_messages}"
    merged = dict(configured)
    if merged.get("type") == "preset":
        merged["append"] = "\n\n".join(p for p in (merged.get("append"), from_messages) if p)
    elif merged.get("type") == "custom":
        merged["prompt"] = f"{merged.get('prompt', '')}\n\n{from_messages}"
    else:
        raise ValueError("system messages cannot join a system_prompt file; "
                         "put them in the file or pass system_prompt as text")
    return merged


def make_claude_code(model: str, *, check: bool = True, **options: Any) -> ChatClaudeCode:
    """``claude-code:<model>`` (``sonnet``, ``opus``, a full id, or empty: the CLI's default).

    Overrides are ``ChatClaudeCode`` fields; any other keyword is a ``ClaudeAgentOptions``
    field. ``check`` looks for the CLI now, so a missing one is reported before the run."""
    own = set(ChatClaudeCode.model_fields)
    extra = {k: v for k, v in options.items() if k not in own}
    kwargs = {k: v for k, v in options.items() if k in own}
    if extra:
        kwargs["options"] = {**kwargs.get("options", {}), **extra}
    chat = ChatClaudeCode(model=model or None, **kwargs)
    if check:
        _sdk()
        require_claude_cli(chat.cli_path)
    return chat
