"""recover_tool_calls on what small local models really write instead of native calls."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage

from claude_like.models import recover_tool_calls
from claude_like.models.text_tool_calls import find_tool_calls

NAMES = ["Read", "Bash", "Edit", "Glob", "read_file", "list_dir"]

SAMPLES = [
    # Hermes / Qwen2.5 style, as qwen2.5-coder writes it when the template is not tool-aware
    (
        'I will look at the file first.\n<tool_call>\n{"name": "Read", "arguments": '
        '{"file_path": "src/app.py"}}\n</tool_call>',
        [("Read", {"file_path": "src/app.py"})],
    ),
    # two Hermes calls in one reply
    (
        '<tool_call>\n{"name": "Glob", "arguments": {"pattern": "**/*.py"}}\n</tool_call>\n'
        '<tool_call>\n{"name": "Bash", "arguments": {"command": "ls -la"}}\n</tool_call>',
        [("Glob", {"pattern": "**/*.py"}), ("Bash", {"command": "ls -la"})],
    ),
    # unterminated tag (generation cap hit after the JSON)
    (
        '<tool_call>{"name": "Bash", "arguments": {"command": "pytest -q"}}',
        [("Bash", {"command": "pytest -q"})],
    ),
    # json fence, as llama3.2 and phi often answer
    (
        'To run the tests I will call the Bash tool:\n\n```json\n{\n  "name": "Bash",\n'
        '  "arguments": {\n    "command": "python -m pytest"\n  }\n}\n```\n',
        [("Bash", {"command": "python -m pytest"})],
    ),
    # bare object with "parameters" (Llama 3.x JSON tool format)
    (
        '{"name": "read_file", "parameters": {"path": "notes.txt"}}',
        [("read_file", {"path": "notes.txt"})],
    ),
    # arguments given as a JSON string (OpenAI wire habit)
    (
        '{"name": "Edit", "arguments": "{\\"file_path\\": \\"a.py\\", \\"old_string\\": '
        '\\"x = 1\\", \\"new_string\\": \\"x = 2\\"}"}',
        [("Edit", {"file_path": "a.py", "old_string": "x = 1", "new_string": "x = 2"})],
    ),
    # OpenAI function shape written out as text
    (
        'Calling: {"type": "function", "function": {"name": "list_dir", "arguments": '
        '{"path": "src"}}}',
        [("list_dir", {"path": "src"})],
    ),
    # Llama 3.1 <function=...> style
    (
        '<function=Bash>{"command": "git status"}</function>',
        [("Bash", {"command": "git status"})],
    ),
    # Claude-like XML invoke style
    (
        '<function_calls><invoke name="Read"><parameter name="file_path">README.md</parameter>'
        '<parameter name="limit">20</parameter></invoke></function_calls>',
        [("Read", {"file_path": "README.md", "limit": 20})],
    ),
    # "tool"/"tool_input" keys (ReAct-ish)
    (
        'Action:\n```\n{"tool": "Glob", "tool_input": {"pattern": "*.md"}}\n```',
        [("Glob", {"pattern": "*.md"})],
    ),
    # a list of calls
    (
        '[{"name": "Read", "arguments": {"file_path": "a"}}, '
        '{"name": "Read", "arguments": {"file_path": "b"}}]',
        [("Read", {"file_path": "a"}), ("Read", {"file_path": "b"})],
    ),
    # flat object: the other keys are the arguments
    ('{"name": "Bash", "command": "echo hi"}', [("Bash", {"command": "echo hi"})]),
]


@pytest.mark.parametrize(("text", "expected"), SAMPLES)
def test_recovers_calls_written_as_text(text: str, expected: list[tuple[str, dict]]) -> None:
    msg = AIMessage(content=text, usage_metadata={"input_tokens": 5, "output_tokens": 7,
                                                  "total_tokens": 12})
    out = recover_tool_calls(msg, NAMES)
    assert [(c["name"], c["args"]) for c in out.tool_calls] == expected
    assert all(c["id"] for c in out.tool_calls)
    assert len({c["id"] for c in out.tool_calls}) == len(out.tool_calls)
    assert out.additional_kwargs["recovered_tool_calls"] is True
    assert out.additional_kwargs["original_text"] == text
    assert out.usage_metadata == msg.usage_metadata
    assert out.content == ""


@pytest.mark.parametrize(
    "text",
    [
        "The answer is 42.",
        'The config looks like {"name": "demo", "version": 1}.',  # JSON, but no tool name
        '{"name": "delete_everything", "arguments": {}}',  # not a bound tool
        "```json\n{\"broken\": \n```",
        "",
    ],
)
def test_leaves_ordinary_answers_alone(text: str) -> None:
    msg = AIMessage(content=text)
    assert recover_tool_calls(msg, NAMES) is msg


def test_native_calls_win() -> None:
    msg = AIMessage(
        content='<tool_call>{"name": "Bash", "arguments": {"command": "x"}}</tool_call>',
        tool_calls=[{"name": "Read", "args": {"file_path": "y"}, "id": "c1"}],
    )
    assert recover_tool_calls(msg, NAMES) is msg


def test_content_blocks_are_read() -> None:
    text = '<tool_call>{"name": "Bash", "arguments": {"command": "ls"}}</tool_call>'
    msg = AIMessage(content=[{"type": "text", "text": text}])
    out = recover_tool_calls(msg, NAMES)
    assert out.tool_calls[0]["args"] == {"command": "ls"}


def test_no_tools_bound_means_no_recovery() -> None:
    assert find_tool_calls('{"name": "Bash", "arguments": {}}', []) == []
