"""An Anthropic Messages API in front of any factory model (``claude-like gateway``), so
Anthropic clients such as Claude Code run on local or other models; and its trace log.

``create_app(model, token=..., trace=..., window=..., compact=...)`` gives the FastAPI app;
``claude-like gateway --model SPEC`` serves it with uvicorn; ``claude-like trace analyze
FILE`` reads the trace.
"""

from claude_like.gateway.app import MAX_BODY, create_app
from claude_like.gateway.fit import PromptTooLong
from claude_like.gateway.trace import TraceLog

__all__ = ["MAX_BODY", "PromptTooLong", "TraceLog", "create_app"]
