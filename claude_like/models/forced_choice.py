"""force_tool_choice(): the same model, but every ``bind_tools`` asks for one tool choice.

The planner binds tools without a tool choice (the model decides). Benchmarks and live
tests of a tiny model need a call on every turn instead: ``"required"`` makes llama-server
(or constrained decoding) leave the model no way but a call, so a run measures the
pipeline, not the model's wits.
"""

from __future__ import annotations

from typing import Any

from langchain_core.language_models import BaseChatModel

from claude_like.models.base import attach_info, model_info


def force_tool_choice(model: BaseChatModel, choice: str = "required") -> BaseChatModel:
    """A copy of ``model`` (same settings, same ModelInfo) whose ``bind_tools`` always
    asks for ``tool_choice=choice``."""
    base = type(model)

    class Forced(base):  # type: ignore[valid-type, misc]
        def bind_tools(self, tools: Any, *, tool_choice: Any = None, **kwargs: Any) -> Any:
            return super().bind_tools(tools, tool_choice=choice, **kwargs)

    Forced.__name__ = Forced.__qualname__ = f"Forced{base.__name__}"
    forced = Forced(**{name: getattr(model, name) for name in model.model_fields_set})
    info = model_info(model)
    if info is not None:
        attach_info(forced, info)
    return forced
