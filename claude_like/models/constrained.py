"""Constrained tool calling: JSON-schema decoding instead of the server's tool calling.

Small local models rarely emit native tool calls, but under a JSON schema (llama-server's
``response_format: json_schema``, Ollama's ``format``) they return a well-formed object
every time. ``ConstrainedToolChatModel`` wraps a chat model: ``bind_tools`` only records
the tools; each request then carries a schema that admits exactly one of {a call of one
bound tool with valid arguments, a final answer}, and the reply comes back as a normal
``AIMessage`` (``tool_calls`` or text), so the graph cannot tell which mode produced it.

The tools are described in the system prompt (the request carries no ``tools``), and past
calls and results are rendered as that same JSON and as user turns, deterministically, so
the prompt prefix stays byte-stable and the server's KV cache is reused turn after turn.

llama-server's Anthropic route (``/v1/messages``) forwards no schema: there the format is
asked for by the prompt alone and the reply parsed leniently (a reply that is no call is
the final answer).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import ConfigDict, Field

from claude_like.models.base import ModelInfo, attach_info
from claude_like.models.constrained_reply import FINAL, PREFILL, parse_reply_text

RAW_KEY = "constrained_raw"
#: Longest final answer the schema admits (the generation cap applies as well).
ANSWER_MAX_CHARS = 8000


class ConstrainedToolChatModel(BaseChatModel):
    """A chat model whose tool calls are produced by schema-constrained decoding."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    inner: BaseChatModel
    """The wire-level chat model (CompatChatOpenAI, ChatOllama, ChatAnthropic, ...)."""
    tools: list[dict[str, Any]] = Field(default_factory=list)
    """Bound tools in OpenAI function format."""
    tool_choice: str | None = None
    """``None``/``auto``, ``required``/``any``, ``none``, or one tool's name."""
    wire: str = "openai"
    """How the schema travels: ``openai`` (response_format), ``ollama`` (format), ``prompt``."""

    @classmethod
    def wrap(cls, inner: BaseChatModel, info: ModelInfo | None = None) -> ConstrainedToolChatModel:
        """Wrap ``inner``; the wire format is chosen from its class."""
        model = cls(inner=inner, wire=wire_for(inner))
        if info is not None:
            info.tool_calling = "constrained"
            attach_info(model, info)
        return model

    @property
    def _llm_type(self) -> str:
        return "claude-like-constrained"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"inner": self.inner._llm_type, "wire": self.wire}

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable | BaseTool],
        *,
        tool_choice: str | dict | bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Record the tools; they travel as a schema and a prompt section, not as ``tools``."""
        choice: str | None
        if isinstance(tool_choice, dict):
            fn = tool_choice.get("function") or {}
            choice = fn.get("name") or tool_choice.get("name") or tool_choice.get("type")
        elif tool_choice is True:
            choice = "required"
        else:
            choice = tool_choice or None
        return self.model_copy(
            update={"tools": [convert_to_openai_tool(t) for t in tools], "tool_choice": choice}
        )

    # -- request building -------------------------------------------------------------

    @property
    def _tool_names(self) -> list[str]:
        return [t["function"]["name"] for t in self.tools]

    @property
    def _final_name(self) -> str:
        return FINAL if FINAL not in self._tool_names else "final_answer_to_user"

    def _allowed(self) -> tuple[list[dict[str, Any]], bool]:
        """(tools the reply may call, whether a final answer is allowed)."""
        choice = self.tool_choice
        if choice in (None, "auto"):
            return self.tools, True
        if choice in ("required", "any"):
            return self.tools, False
        if choice == "none":
            return [], True
        picked = [t for t in self.tools if t["function"]["name"] == choice]
        return (picked, False) if picked else (self.tools, True)

    def reply_schema(self) -> dict[str, Any]:
        """JSON schema of a reply: one bound tool's call or the final answer."""
        tools, final = self._allowed()
        branches: list[dict[str, Any]] = []
        defs: dict[str, Any] = {}
        for tool in tools:
            fn = tool["function"]
            params = dict(fn.get("parameters") or {"type": "object", "properties": {}})
            defs.update(params.pop("$defs", {}) or {})
            params.setdefault("type", "object")
            params.setdefault("properties", {})
            branches.append(_branch(fn["name"], _bounded(params)))
        if final or not branches:
            answer = {
                "type": "object",
                "properties": {"answer": {"type": "string", "maxLength": ANSWER_MAX_CHARS}},
                "required": ["answer"],
                "additionalProperties": False,
            }
            branches.append(_branch(self._final_name, answer))
        schema: dict[str, Any] = branches[0] if len(branches) == 1 else {"anyOf": branches}
        if defs:
            schema = {**schema, "$defs": defs}
        return schema

    def tools_prompt(self) -> str:
        """The system-prompt section that tells the model the tools and the reply format."""
        tools, final = self._allowed()
        lines = [
            "# Tools",
            "Reply with exactly one JSON object and nothing else.",
            'To use a tool: {"tool": "<tool name>", "arguments": {<arguments>}}',
        ]
        if final:
            lines.append(
                f'When the task is done, or to answer the user: {{"tool": "{self._final_name}",'
                ' "arguments": {"answer": "<your answer>"}}'
            )
        lines.append("Available tools:")
        for tool in tools:
            fn = tool["function"]
            lines.append(f"- {fn['name']}: {(fn.get('description') or '').strip()}")
            params = fn.get("parameters") or {}
            required = set(params.get("required") or [])
            for name, prop in (params.get("properties") or {}).items():
                kind = prop.get("type") or ("enum" if "enum" in prop else "any")
                flag = "required" if name in required else "optional"
                desc = (prop.get("description") or "").strip()
                lines.append(f"    {name} ({kind}, {flag}){': ' + desc if desc else ''}")
        return "\n".join(lines)

    def render(self, messages: Sequence[BaseMessage]) -> list[BaseMessage]:
        """The conversation as the constrained model sees it (deterministic, cache-stable)."""
        section = self.tools_prompt()
        out: list[BaseMessage] = []
        names: dict[str, str] = {}
        placed = False
        for m in messages:
            if isinstance(m, SystemMessage) and not placed:
                text = m.text
                out.append(SystemMessage(content=f"{text.rstrip()}\n\n{section}"))
                placed = True
            elif isinstance(m, AIMessage):
                for call in m.tool_calls:
                    names[call.get("id") or ""] = call["name"]
                out.append(AIMessage(content=self._as_reply_text(m)))
            elif isinstance(m, ToolMessage):
                name = m.name or names.get(m.tool_call_id, "tool")
                label = "Error from" if m.status == "error" else "Result of"
                out.append(HumanMessage(content=f"{label} {name}:\n{m.text}"))
            else:
                out.append(m)
        if not placed:
            out.insert(0, SystemMessage(content=section))
        return out

    def _as_reply_text(self, m: AIMessage) -> str:
        raw = m.additional_kwargs.get(RAW_KEY)
        if isinstance(raw, str):
            return raw
        if m.tool_calls:
            return "\n".join(
                json.dumps({"tool": c["name"], "arguments": c["args"]}, ensure_ascii=False)
                for c in m.tool_calls
            )
        return json.dumps(
            {"tool": self._final_name, "arguments": {"answer": m.text}}, ensure_ascii=False
        )

    def _request(self, messages: Sequence[BaseMessage]) -> list[BaseMessage]:
        rendered = self.render(messages)
        if self.wire == "prompt":
            rendered.append(AIMessage(content=PREFILL))
        return rendered

    def _wire_kwargs(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        schema = self.reply_schema()
        kwargs = dict(kwargs)
        if self.wire == "openai":
            extra = dict(getattr(self.inner, "extra_body", None) or {})
            extra.update(kwargs.pop("extra_body", None) or {})
            extra["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "reply", "schema": schema},
            }
            kwargs["extra_body"] = extra
        elif self.wire == "ollama":
            kwargs["format"] = schema
        return kwargs

    # -- reply parsing ------------------------------------------------------------------

    def parse_reply(self, reply: BaseMessage) -> AIMessage:
        """The constrained reply as a normal AIMessage (tool_calls, or the answer as text)."""
        tools, _final = self._allowed()
        raw, content, calls, invalid = parse_reply_text(
            reply.text, final_name=self._final_name,
            names=[t["function"]["name"] for t in tools],
            prefill=PREFILL if self.wire == "prompt" else None)
        return AIMessage(
            content=content,
            tool_calls=calls,
            invalid_tool_calls=invalid,
            additional_kwargs={RAW_KEY: raw},
            response_metadata=dict(getattr(reply, "response_metadata", {}) or {}),
            usage_metadata=getattr(reply, "usage_metadata", None),
            id=reply.id,
        )

    # -- generation ---------------------------------------------------------------------

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any
                  ) -> ChatResult:
        if not self.tools:
            return self.inner._generate(messages, stop=stop, run_manager=run_manager, **kwargs)
        result = self.inner._generate(
            self._request(messages), stop=stop, run_manager=run_manager, **self._wire_kwargs(kwargs)
        )
        return self._result(result)

    async def _agenerate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                         run_manager: AsyncCallbackManagerForLLMRun | None = None,
                         **kwargs: Any) -> ChatResult:
        if not self.tools:
            return await self.inner._agenerate(messages, stop=stop, run_manager=run_manager,
                                               **kwargs)
        result = await self.inner._agenerate(
            self._request(messages), stop=stop, run_manager=run_manager, **self._wire_kwargs(kwargs)
        )
        return self._result(result)

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any
                ) -> Iterator[ChatGenerationChunk]:
        if not self.tools:
            yield from self.inner._stream(messages, stop=stop, run_manager=run_manager, **kwargs)
            return
        total: ChatGenerationChunk | None = None
        for chunk in self.inner._stream(self._request(messages), stop=stop,
                                        **self._wire_kwargs(kwargs)):
            total = chunk if total is None else total + chunk
        yield self._one_chunk(total, run_manager)

    async def _astream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                       run_manager: AsyncCallbackManagerForLLMRun | None = None,
                       **kwargs: Any) -> AsyncIterator[ChatGenerationChunk]:
        if not self.tools:
            async for chunk in self.inner._astream(messages, stop=stop,
                                                   run_manager=run_manager, **kwargs):
                yield chunk
            return
        total: ChatGenerationChunk | None = None
        async for chunk in self.inner._astream(self._request(messages), stop=stop,
                                               **self._wire_kwargs(kwargs)):
            total = chunk if total is None else total + chunk
        chunk = self._one_chunk(total, None)
        if run_manager:
            await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
        yield chunk

    def _result(self, result: ChatResult) -> ChatResult:
        gens = [
            ChatGeneration(message=self.parse_reply(g.message), generation_info=g.generation_info)
            for g in result.generations
        ]
        return ChatResult(generations=gens, llm_output=result.llm_output)

    def _one_chunk(self, total: ChatGenerationChunk | None,
                   run_manager: CallbackManagerForLLMRun | None) -> ChatGenerationChunk:
        """The whole constrained reply as one chunk (it is only meaningful when complete)."""
        reply = total.message if total is not None else AIMessageChunk(content="")
        msg = self.parse_reply(reply)
        chunk = ChatGenerationChunk(
            message=AIMessageChunk(
                content=msg.content,
                additional_kwargs=msg.additional_kwargs,
                response_metadata=msg.response_metadata,
                usage_metadata=msg.usage_metadata,
                id=msg.id,
                tool_call_chunks=[
                    {"name": c["name"], "args": json.dumps(c["args"]), "id": c["id"],
                     "index": i, "type": "tool_call_chunk"}
                    for i, c in enumerate(msg.tool_calls)
                ] + [  # args no JSON repair can parse: the chunk reports an invalid call
                    {"name": c["name"], "args": f"(cut off) {c['args']}", "id": c["id"],
                     "index": len(msg.tool_calls) + i, "type": "tool_call_chunk"}
                    for i, c in enumerate(msg.invalid_tool_calls)
                ],
                chunk_position="last",
            ),
            generation_info=total.generation_info if total is not None else None,
        )
        if run_manager:
            run_manager.on_llm_new_token(chunk.text, chunk=chunk)
        return chunk

    def get_num_tokens_from_messages(self, messages: list[BaseMessage],
                                     tools: Sequence[Any] | None = None) -> int:
        """Tokens of the prompt as actually sent (rendered, tool section included)."""
        model = self.bind_tools(tools) if tools else self
        assert isinstance(model, ConstrainedToolChatModel)
        return self.inner.get_num_tokens_from_messages(model.render(messages))


#: Longest list the schema admits where a tool sets no bound: a small model otherwise
#: fills an optional list until the generation cap cuts the call in half.
MAX_ITEMS = 16


def _bounded(schema: Any) -> Any:
    """``schema`` with a ``maxItems`` on every unbounded array."""
    if isinstance(schema, list):
        return [_bounded(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _bounded(v) for k, v in schema.items()}
    if out.get("type") == "array" and "maxItems" not in out:
        out["maxItems"] = MAX_ITEMS
    return out


def _branch(name: str, params: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"tool": {"const": name}, "arguments": params},
        "required": ["tool", "arguments"],
        "additionalProperties": False,
    }


def wire_for(inner: BaseChatModel) -> str:
    """How a schema reaches ``inner``'s server."""
    from langchain_openai.chat_models.base import BaseChatOpenAI

    if isinstance(inner, BaseChatOpenAI):
        return "openai"
    try:
        from langchain_ollama import ChatOllama

        if isinstance(inner, ChatOllama):
            return "ollama"
    except ImportError:  # pragma: no cover
        pass
    return "prompt"
