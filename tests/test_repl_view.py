"""What the session's turn view says while it waits and after a reply, on a clock the
test moves (no real time): a local model's prompt reading shown with its seconds, the
reply speed counted over model time only, finished paragraphs printed for good."""

from __future__ import annotations

from rich.console import Console

from claude_like.cli.repl.live import TurnView, split_finished
from claude_like.cli.repl.session import is_local
from claude_like.cli.repl.tool_view import ToolLog
from claude_like.events import ContextUsage, TextDelta, ToolFinished, ToolStarted


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def make_view(*, local: bool) -> tuple[TurnView, Clock, Console]:
    clock = Clock()
    console = Console(record=True, width=100, force_terminal=False)
    view = TurnView(console, ToolLog(), local=local, clock=clock)
    view.start()
    return view, clock, console


def usage_event(tokens: int) -> ContextUsage:
    return ContextUsage(turn=1, tokens=tokens, window=8192, limit=6144,
                        share=tokens / 8192, warning=False)


def test_a_local_model_shows_for_how_long_it_has_been_reading_the_prompt():
    view, clock, _ = make_view(local=True)
    clock.now += 42
    assert view.label().startswith("reading the prompt · 42s")
    view.show(TextDelta("Hi"))
    clock.now += 3
    assert view.label() == "writing · 3s"
    view.stop()


def test_a_remote_model_is_thinking_and_a_tool_is_running():
    view, clock, _ = make_view(local=False)
    clock.now += 7
    assert view.label().startswith("thinking · 7s")
    view.show(usage_event(100))
    view.show(ToolStarted("c1", "Bash", {"command": "make"}))
    clock.now += 5
    assert view.label() == "running Bash · 5s"
    view.stop()


def test_the_reply_speed_counts_model_time_not_tool_time():
    view, clock, _ = make_view(local=True)
    clock.now += 4  # the first model call: 4 s
    view.show(usage_event(100))
    view.show(ToolStarted("c1", "Bash", {"command": "sleep 60"}))
    clock.now += 60  # the tool: not model time
    view.show(ToolFinished("c1", "Bash", True, "done"))
    clock.now += 6  # the second model call: 6 s
    view.show(usage_event(120))
    view.stop()
    line = view.stats({"output_tokens": 50})
    assert "50 tokens out" in line and "70.0 s" in line and "5.0 tok/s" in line
    assert "context 1% of 8,192" in line


def test_finished_paragraphs_are_printed_as_markdown_at_once():
    view, _, console = make_view(local=False)
    view.show(TextDelta("A **bold** start.\n\nStill wri"))
    assert "A bold start." in console.export_text(clear=False)
    assert "Still" not in console.export_text(clear=False)
    view.stop()
    assert "Still wri" in console.export_text()


def test_a_blank_line_inside_a_code_fence_does_not_end_a_paragraph():
    assert split_finished("one\n\n```\ncode\n\nmore") == ("one", "```\ncode\n\nmore")
    assert split_finished("```\na\n\nb\n```\n\nafter") == ("```\na\n\nb\n```", "after")
    assert split_finished("no break yet") == ("", "no break yet")


def test_which_models_are_local():
    assert is_local("llamacpp:qwen") and is_local("ollama:qwen2.5-coder:7b")
    assert is_local("embedded:") and is_local(None)
    assert not is_local("openai:gpt-4o") and not is_local("anthropic:claude")
