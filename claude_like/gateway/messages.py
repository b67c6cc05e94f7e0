"""``POST /v1/messages`` and ``POST /v1/messages/count_tokens``: parse, fit to the window,
call the backend, answer as Anthropic does (whole or streamed), and trace every request.

A streamed request waits for the backend's first chunk before answering, so a backend that
fails at once gets a real HTTP error (which clients retry); a failure later in the stream is
an ``error`` event.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from langchain_core.messages import AIMessage, BaseMessage
from pydantic import BaseModel, ValidationError

from claude_like.gateway.backend import Backend
from claude_like.gateway.convert import (
    Conversation,
    content_blocks,
    message_body,
    new_message_id,
    stop_reason,
    to_conversation,
    tool_uses,
    usage,
)
from claude_like.gateway.errors import GatewayError, backend_error
from claude_like.gateway.fit import Fit, PromptTooLong, split_tokens
from claude_like.gateway.schema import CountTokensRequest, MessagesRequest
from claude_like.gateway.sse import (
    EventWriter,
    TextGate,
    error_event,
    ping,
    visible_text,
    with_pings,
)
from claude_like.gateway.trace import Tracer, headers_of


async def parse_body(request: Request, schema: type[BaseModel]) -> tuple[Any, dict[str, Any]]:
    """The request body validated against ``schema`` (and as sent), or a 400."""
    raw = await request.body()
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise GatewayError(400, f"the request body is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise GatewayError(400, "the request body must be a JSON object")
    try:
        return schema.model_validate(data), data
    except ValidationError as exc:
        raise GatewayError(400, validation_message(exc)) from exc


def validation_message(exc: ValidationError) -> str:
    """The first few problems, each as ``where: what``."""
    parts = []
    for error in exc.errors()[:3]:
        where = ".".join(str(p) for p in error["loc"] if not str(p).startswith("function-"))
        parts.append(f"{where or 'body'}: {error['msg']}")
    more = len(exc.errors()) - 3
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


def reply_text(reply: AIMessage, hold: bool) -> str:
    """The text a client gets, as the stream would have sent it."""
    recovered = bool(reply.additional_kwargs.get("recovered_tool_calls"))
    text = str(reply.additional_kwargs.get("original_text", "")) if recovered else reply.text
    return visible_text(str(text), recovered=recovered, hold=hold)


async def _chain(first: BaseMessage | None, rest: AsyncIterator[BaseMessage]
                 ) -> AsyncIterator[BaseMessage]:
    if first is None:
        return
    yield first
    async for chunk in rest:
        yield chunk


class MessagesEndpoint:
    """The two endpoints on one backend, reporting to one tracer."""

    def __init__(self, backend: Backend, tracer: Tracer) -> None:
        self.backend = backend
        self.tracer = tracer

    # -- shared --------------------------------------------------------------------------
    def _start(self, request: Request, endpoint: str) -> dict[str, Any]:
        betas = request.headers.get("anthropic-beta") or request.query_params.get("beta")
        return {"endpoint": endpoint, "started": time.perf_counter(),
                "headers": headers_of(request.headers), "betas": betas}

    def _fail(self, rec: dict[str, Any], err: GatewayError) -> JSONResponse:
        self.tracer.record(**rec, status=err.status, error={"type": err.kind,
                                                             "message": err.message})
        return JSONResponse(err.body(), status_code=err.status)

    async def _fit(self, req: MessagesRequest, conv: Conversation, rec: dict[str, Any]) -> Fit:
        try:
            fit = await self.backend.fit(conv, req.max_tokens)
        except PromptTooLong as exc:
            split = split_tokens(conv)
            rec["tokens"] = {"system": split.system, "tools": split.tools,
                             "messages": split.messages, "prompt": exc.tokens,
                             "window": self.backend.budget.window}
            raise GatewayError(400, str(exc)) from exc
        self.tracer.check_window(fit.tokens, fit.window)
        rec["tokens"] = {"system": fit.split.system, "tools": fit.split.tools,
                         "messages": fit.split.messages, "prompt": fit.tokens,
                         "exact": fit.exact, "window": fit.window, "cap": fit.cap}
        if fit.compaction:
            rec["compaction"] = fit.compaction
        return fit

    def _done(self, rec: dict[str, Any], reply: AIMessage, blocks: list[dict[str, Any]],
              stop: str, use: dict[str, int]) -> None:
        tokens = rec.setdefault("tokens", {})
        reported = bool(reply.usage_metadata)
        tokens.update({
            "input": (use["input_tokens"] + use["cache_read_input_tokens"]
                      + use["cache_creation_input_tokens"]) if reported else None,
            "output": use["output_tokens"] if reported else None,
            "cached": use["cache_read_input_tokens"]})
        self.tracer.record(**rec, status=200, error=None, stop_reason=stop,
                           tool_uses=[b["name"] for b in blocks if b["type"] == "tool_use"],
                           recovered=bool(reply.additional_kwargs.get("recovered_tool_calls")),
                           response=blocks)

    # -- POST /v1/messages ---------------------------------------------------------------
    async def create(self, request: Request) -> Response:
        rec = self._start(request, "/v1/messages")
        try:
            req, raw = await parse_body(request, MessagesRequest)
            conv = to_conversation(req)
            rec.update(model=req.model, stream=req.stream, max_tokens=req.max_tokens,
                       messages=len(req.messages), tools=len(conv.tools),
                       tools_left_out=conv.left_out, tool_choice=conv.tool_choice, request=raw)
            fit = await self._fit(req, conv, rec)
        except GatewayError as err:
            return self._fail(rec, err)
        if req.stream:
            return await self._stream(req, conv, fit, rec)
        try:
            reply = await self.backend.invoke(conv, fit, req.stop_sequences)
        except Exception as exc:
            return self._fail(rec, backend_error(exc, estimate=fit.tokens, window=fit.window))
        blocks = content_blocks(reply_text(reply, bool(conv.bound_tools)), reply)
        stop, use = stop_reason(reply, blocks), usage(reply, fit.tokens)
        self._done(rec, reply, blocks, stop, use)
        return JSONResponse(message_body(new_message_id(), req.model, blocks, stop, use))

    async def _stream(self, req: MessagesRequest, conv: Conversation, fit: Fit,
                      rec: dict[str, Any]) -> Response:
        chunks = aiter(self.backend.stream(conv, fit, req.stop_sequences))
        try:
            first: BaseMessage | None = await anext(chunks)
        except StopAsyncIteration:
            first = None
        except Exception as exc:
            return self._fail(rec, backend_error(exc, estimate=fit.tokens, window=fit.window))
        return StreamingResponse(self._events(_chain(first, chunks), req, conv, fit, rec),
                                 media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache"})

    async def _events(self, chunks: AsyncIterator[BaseMessage], req: MessagesRequest,
                      conv: Conversation, fit: Fit, rec: dict[str, Any]) -> AsyncIterator[str]:
        start = {"input_tokens": fit.tokens, "output_tokens": 0,
                 "cache_read_input_tokens": 0, "cache_creation_input_tokens": 0}
        writer = EventWriter(message_body(new_message_id(), req.model, [], None, start))
        gate = TextGate(hold=bool(conv.bound_tools))
        finished = False
        yield writer.start()
        try:
            total: Any = None
            async for chunk in with_pings(chunks):
                if chunk is None:
                    yield ping()
                    continue
                total = chunk if total is None else total + chunk
                yield writer.text(gate.feed(str(chunk.text)))
            reply = self.backend.finish(conv, total if total is not None else AIMessage(""))
            yield writer.text(gate.rest(bool(reply.additional_kwargs.get("recovered_tool_calls"))))
            blocks = tool_uses(reply)
            stop, use = stop_reason(reply, blocks), usage(reply, fit.tokens)
            yield writer.finish(blocks, stop, use)
            finished = True
            text = [{"type": "text", "text": gate.sent}] if gate.sent else []
            self._done(rec, reply, text + blocks, stop, use)
        except Exception as exc:
            err = backend_error(exc, estimate=fit.tokens, window=fit.window)
            finished = True
            self.tracer.record(**rec, status=200, error={"type": err.kind, "message": err.message,
                                                         "in_stream": True})
            yield error_event(err.body())
        finally:
            if not finished:  # the client went away
                self.tracer.record(**rec, status=499, error={"type": "client_closed",
                                                             "message": "client disconnected"})

    # -- POST /v1/messages/count_tokens --------------------------------------------------
    async def count_tokens(self, request: Request) -> Response:
        rec = self._start(request, "/v1/messages/count_tokens")
        try:
            req, raw = await parse_body(request, CountTokensRequest)
        except GatewayError as err:
            return self._fail(rec, err)
        conv = to_conversation(req)
        tokens = await self.backend.count(conv)
        split = split_tokens(conv)
        self.tracer.record(**rec, status=200, error=None, model=req.model, request=raw,
                           tokens={"system": split.system, "tools": split.tools,
                                   "messages": split.messages, "prompt": tokens})
        return JSONResponse({"input_tokens": tokens})
