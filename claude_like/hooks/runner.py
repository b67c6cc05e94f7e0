"""Running a round of hooks for one event and combining what they said.

Every matching hook of the event runs at once: the SDK-shaped callbacks first, then the
settings files' commands (identical commands once). Their answers are combined in that
order: deny beats ask beats allow, the last ``updatedInput`` wins, contexts and reasons are
joined. A hook that fails (raises, returns something else than a dict, times out, exits
with a code other than 0 or 2, prints something else than JSON) decides nothing and becomes
a message for the user; the run goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import inspect
import json
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from claude_like.async_bridge import run_blocking
from claude_like.hooks.combine import combine_post, combine_pre, combine_prompt, combine_stop
from claude_like.hooks.command import (
    CommandHook,
    command_reply,
    parse_command_hooks,
    run_command,
)
from claude_like.hooks.types import (
    DEFAULT_TIMEOUT,
    TOOL_EVENTS,
    HookCallback,
    HookContext,
    HookMatcher,
    HookReply,
    PostToolOutcome,
    PreToolOutcome,
    PromptOutcome,
    StopOutcome,
    matcher_matches,
)

T = TypeVar("T")


@dataclass(frozen=True)
class _Callback:
    fn: HookCallback
    timeout: float

    @property
    def name(self) -> str:
        fn = getattr(self.fn, "func", self.fn)  # a functools.partial: what it wraps
        return getattr(fn, "__name__", None) or type(fn).__name__


class Hooks:
    """The hooks of one agent: SDK-shaped callbacks by event (``hooks``) and Claude Code's
    command hooks (``commands``, the settings files' ``"hooks"`` object). Commands run in
    ``cwd`` with ``os.environ`` plus ``env`` plus ``CLAUDE_PROJECT_DIR``."""

    def __init__(
        self,
        hooks: Mapping[str, Sequence[HookMatcher]] | None = None,
        *,
        commands: Mapping[str, Any] | None = None,
        cwd: str = ".",
        session_id: str = "",
        env: Mapping[str, str] | None = None,
    ) -> None:
        self._matchers: dict[str, list[HookMatcher]] = {}
        for event, matchers in (hooks or {}).items():
            for matcher in matchers:
                if not isinstance(matcher, HookMatcher):
                    raise TypeError(f"hooks[{event!r}] must hold HookMatcher objects")
                for fn in matcher.hooks:
                    if not callable(fn):
                        raise TypeError(f"hooks[{event!r}]: {fn!r} is not callable")
            self._matchers[event] = list(matchers)
        self._commands = parse_command_hooks(commands)
        self.cwd = os.path.abspath(cwd)
        self.session_id = session_id
        self.env = dict(env or {})
        self.warnings = [
            f"{event} hook of type {kind!r} is not supported and will not run"
            for event, entries in self._commands.items()
            for entry in entries
            for kind in entry.unsupported
        ]
        """Said once, for the user: settings hooks that are never run."""

    def __bool__(self) -> bool:
        return any(self.has(event) for event in {*self._matchers, *self._commands})

    def has(self, event: str) -> bool:
        """Whether any hook at all is registered for ``event``."""
        return any(m.hooks for m in self._matchers.get(event, ())) or any(
            e.hooks for e in self._commands.get(event, ()))

    # --- the events ---------------------------------------------------------------------

    def pre_tool_use(self, tool_name: str, tool_input: dict, tool_use_id: str, *,
                     session_id: str = "") -> PreToolOutcome:
        """Before a tool runs: may allow, deny or ask, and replace its input."""
        return run_blocking(lambda: self.apre_tool_use(tool_name, tool_input, tool_use_id,
                                                    session_id=session_id))

    async def apre_tool_use(self, tool_name: str, tool_input: dict, tool_use_id: str, *,
                            session_id: str = "") -> PreToolOutcome:
        data = {"tool_name": tool_name, "tool_input": tool_input, "tool_use_id": tool_use_id}
        replies = await self._round("PreToolUse", data, session_id, tool_name, tool_use_id)
        return combine_pre(replies)

    def post_tool_use(self, tool_name: str, tool_input: dict, tool_response: str,
                      tool_use_id: str, *, is_error: bool,
                      session_id: str = "") -> PostToolOutcome:
        """After a tool ran: PostToolUse hooks, or PostToolUseFailure ones when it failed
        (as in Claude Code); may add context for the model or feed it a reason."""
        return run_blocking(lambda: self.apost_tool_use(
            tool_name, tool_input, tool_response, tool_use_id, is_error=is_error,
            session_id=session_id))

    async def apost_tool_use(self, tool_name: str, tool_input: dict, tool_response: str,
                             tool_use_id: str, *, is_error: bool,
                             session_id: str = "") -> PostToolOutcome:
        data: dict[str, Any] = {"tool_name": tool_name, "tool_input": tool_input}
        if is_error:
            event = "PostToolUseFailure"
            data.update(tool_use_id=tool_use_id, error=tool_response, is_interrupt=False)
        else:
            event = "PostToolUse"
            data.update(tool_response=tool_response, tool_use_id=tool_use_id)
        replies = await self._round(event, data, session_id, tool_name, tool_use_id)
        return combine_post(event, replies)

    def user_prompt_submit(self, prompt: str, *, session_id: str = "") -> PromptOutcome:
        """Before a prompt goes to the model: may block it or add context."""
        return run_blocking(lambda: self.auser_prompt_submit(prompt, session_id=session_id))

    async def auser_prompt_submit(self, prompt: str, *, session_id: str = "") -> PromptOutcome:
        replies = await self._round("UserPromptSubmit", {"prompt": prompt}, session_id)
        return combine_prompt(replies)

    def stop(self, *, stop_hook_active: bool, last_message: str = "",
             session_id: str = "") -> StopOutcome:
        """When the agent would stop: may make it keep working."""
        return run_blocking(lambda: self.astop(stop_hook_active=stop_hook_active,
                                            last_message=last_message,
                                            session_id=session_id))

    async def astop(self, *, stop_hook_active: bool, last_message: str = "",
                    session_id: str = "") -> StopOutcome:
        data = {"stop_hook_active": stop_hook_active, "last_assistant_message": last_message}
        replies = await self._round("Stop", data, session_id)
        return combine_stop(replies)

    # --- running a round ----------------------------------------------------------------

    def _callbacks(self, event: str, tool_name: str | None) -> list[_Callback]:
        return [
            _Callback(fn, DEFAULT_TIMEOUT if m.timeout is None else m.timeout)
            for m in self._matchers.get(event, ())
            if tool_name is None or matcher_matches(m.matcher, tool_name)
            for fn in m.hooks
        ]

    def _command_hooks(self, event: str, tool_name: str | None) -> list[CommandHook]:
        seen: dict[str, CommandHook] = {}
        for entry in self._commands.get(event, ()):
            if tool_name is None or matcher_matches(entry.matcher, tool_name):
                for hook in entry.hooks:
                    seen.setdefault(hook.command, hook)
        return list(seen.values())

    async def _round(self, event: str, fields: dict[str, Any], session_id: str,
                     tool_name: str | None = None,
                     tool_use_id: str | None = None) -> list[HookReply]:
        match_on = tool_name if event in TOOL_EVENTS else None
        callbacks = self._callbacks(event, match_on)
        commands = self._command_hooks(event, match_on)
        if not callbacks and not commands:
            return []
        data = {"hook_event_name": event, "session_id": session_id or self.session_id,
                "cwd": self.cwd, **fields}
        runs = [self._call(cb, data, tool_use_id) for cb in callbacks]
        if commands:
            payload = json.dumps(data, ensure_ascii=False, default=str).encode()
            runs += [self._command(event, hook, payload) for hook in commands]
        return list(await asyncio.gather(*runs))

    async def _call(self, cb: _Callback, data: dict[str, Any],
                    tool_use_id: str | None) -> HookReply:
        args = (copy.deepcopy(data), tool_use_id, HookContext())
        try:
            result = await asyncio.wait_for(_invoke(cb.fn, args), cb.timeout)
        except TimeoutError:
            return HookReply(cb.name, failure=f"timed out after {cb.timeout:g} s")
        except Exception as exc:
            return HookReply(cb.name, failure=_describe(exc))
        if not isinstance(result, dict):
            return HookReply(cb.name, failure=f"returned {type(result).__name__}, not a dict")
        return HookReply(cb.name, output=result)

    async def _command(self, event: str, hook: CommandHook, payload: bytes) -> HookReply:
        env = {**os.environ, **self.env, "CLAUDE_PROJECT_DIR": self.cwd}
        try:
            result = await _in_thread(lambda: run_command(
                hook.command, payload, cwd=self.cwd, env=env, timeout=hook.timeout))
        except Exception as exc:
            return HookReply(hook.name, failure=f"could not run: {_describe(exc)}")
        return command_reply(event, hook, result)


async def _invoke(fn: HookCallback, args: tuple) -> Any:
    """Await an async callback here; run a plain one on its own thread (so a timeout can
    leave it behind) and await what it returns if that is awaitable."""
    if inspect.iscoroutinefunction(fn):
        return await fn(*args)
    result = await _in_thread(lambda: fn(*args))
    if inspect.isawaitable(result):
        result = await result
    return result


async def _in_thread(work: Callable[[], T]) -> T:
    """``work()`` on a daemon thread: one that never returns is abandoned, not waited for
    (neither by the loop's shutdown nor at exit)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(value: Any, error: BaseException | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(value)

    def target() -> None:
        value, error = None, None
        try:
            value = work()
        except Exception as exc:
            error = exc
        except BaseException as exc:  # SystemExit and the like: a failure of the hook
            error = RuntimeError(_describe(exc))
        with contextlib.suppress(RuntimeError):  # the loop is gone: nobody waits any more
            loop.call_soon_threadsafe(settle, value, error)

    threading.Thread(target=target, name="hook", daemon=True).start()
    return await future


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


__all__ = ["Hooks"]
