"""Token accounting: how many tokens the next request will take, before sending it.

Three sources, best first, as the best harnesses do:
- the server's ``usage`` of the previous reply (its real prompt tokens) plus an estimate
  of what was added since, while the view is unchanged since that reply;
- the server's own counter for the fixed part (system prompt + tool schemas), measured
  once (llama-server ``/v1/chat/completions/input_tokens``, ``/v1/messages/count_tokens``);
- langchain-core's ``count_tokens_approximately``, scaled by the ratio of real to
  approximate tokens learnt from every reply that reports usage.
A server's "context exceeded" error is recognised here too.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from langchain_core.messages import BaseMessage, SystemMessage

from claude_like.models.tokens import approx_tokens as approx
from claude_like.models.tokens import exact_tokens

#: Learnt ratios are kept within these bounds (a misreported usage must not run away).
RATIO_BOUNDS = (0.5, 3.0)

_OVERFLOW = re.compile(
    r"exceed_context_size|exceeds the available context size|context_length_exceeded"
    r"|maximum context length|prompt is too long|context window|too many tokens"
    r"|input is too long|reduce the length of the messages",
    re.IGNORECASE,
)
_N_PROMPT = re.compile(r"n_prompt_tokens\W+(\d+)|request \((\d+) tokens\)", re.IGNORECASE)


def message_tokens(message: BaseMessage) -> int:
    """Approximate tokens of one message's content (deterministic: used in stubs)."""
    return approx([message])


def is_context_overflow(exc: BaseException) -> bool:
    """Whether a model call failed because the prompt did not fit the window."""
    seen: set[int] = set()
    err: BaseException | None = exc
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        text = f"{err} {getattr(err, 'body', '') or ''}"
        if _OVERFLOW.search(text):
            return True
        err = err.__cause__ or err.__context__
    return False


def overflow_tokens(exc: BaseException) -> int | None:
    """The prompt size a server reported with its overflow error, when it said."""
    match = _N_PROMPT.search(f"{exc} {getattr(exc, 'body', '') or ''}")
    if not match:
        return None
    return int(match.group(1) or match.group(2))


class TokenAccountant:
    """Estimates prompt tokens of a request for one model and tool set.

    Every estimate is langchain-core's approximation of the whole request (system prompt,
    tool schemas, messages) times a ratio learnt from real counts: first the server's
    count of the fixed part, then the ``usage`` of each reply."""

    def __init__(self, model: Any, tools: Sequence[Any]) -> None:
        self.model = model
        self.tools = list(tools)
        self._calibrated: dict[str, float | None] = {}

    def approx_total(self, system: str, view: Sequence[BaseMessage]) -> int:
        """The unscaled approximation of the whole request."""
        return approx([SystemMessage(content=system), *view], self.tools)

    def calibrate(self, system: str) -> float | None:
        """Real / approximate tokens of the fixed part (system prompt + tools), from the
        server's counter; asked once per system text; None when the server cannot count."""
        if system not in self._calibrated:
            messages = [SystemMessage(content=system)]
            counted = exact_tokens(self.model, messages, self.tools)
            estimate = approx(messages, self.tools)
            self._calibrated[system] = (
                learn_ratio(0.0, counted, estimate) if counted else None)
        return self._calibrated[system]

    def fixed(self, system: str, ratio: float) -> int:
        """Tokens of the system prompt and tool schemas."""
        return int(approx([SystemMessage(content=system)], self.tools) * ratio)

    def estimate(self, system: str, view: Sequence[BaseMessage], ratio: float,
                 last: dict[str, Any] | None = None, epoch: int = -1) -> int:
        """Prompt tokens of ``system`` + ``view`` + tools.

        While the view is unchanged since the last reply (same epoch, that reply in the
        view): its real prompt and output tokens plus the estimate of what follows it.
        Otherwise: the approximation of the whole request times ``ratio``."""
        if last and last.get("epoch") == epoch and last.get("input"):
            for i, msg in enumerate(view):
                if msg.id == last.get("id"):
                    after = view[i + 1:]
                    extra = int(approx(after) * ratio) if after else 0
                    return int(last["input"]) + int(last.get("output", 0)) + extra
        return int(self.approx_total(system, view) * ratio)


def learn_ratio(old: float, real_input: int, approx_input: int) -> float:
    """Blend a new real/approximate observation into the running ratio."""
    if real_input <= 0 or approx_input <= 0:
        return old
    observed = min(max(real_input / approx_input, RATIO_BOUNDS[0]), RATIO_BOUNDS[1])
    return observed if old <= 0 else 0.5 * old + 0.5 * observed
