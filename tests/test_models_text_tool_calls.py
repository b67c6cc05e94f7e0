"""recover_tool_calls on what small local models really write instead of native calls."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage

from claude_like.models import recover_tool_calls
from claude_like.models.text_tool_calls import find_tool_calls, scan_tool_calls

NAMES = ["Read", "Bash", "Edit", "Glob", "Write", "TodoWrite", "read_file", "list_dir"]

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
    # Qwen3-Coder XML, as its template lays it out: values on their own lines, typed
    (
        "<tool_call>\n<function=Read>\n<parameter=file_path>\nnotes.txt\n</parameter>\n"
        "<parameter=limit>\n20\n</parameter>\n</function>\n</tool_call>",
        [("Read", {"file_path": "notes.txt", "limit": 20})],
    ),
    # Qwen3-Coder inline, without the <tool_call> wrapper
    (
        "<function=Read><parameter=file_path>notes.txt</parameter></function>",
        [("Read", {"file_path": "notes.txt"})],
    ),
    # Qwen3-Coder: two calls, a multi-line value (its own trailing newline kept), a JSON array
    (
        "I'll write the script and run it.\n<tool_call>\n<function=Write>\n"
        "<parameter=file_path>\nhello.py\n</parameter>\n<parameter=content>\n"
        "def main():\n    print('hi')\n\n</parameter>\n</function>\n</tool_call>\n"
        "<tool_call>\n<function=Bash>\n<parameter=command>\npython hello.py\n</parameter>\n"
        "<parameter=timeout>\n30.5\n</parameter>\n<parameter=background>\nfalse\n</parameter>\n"
        "</function>\n</tool_call>",
        [
            ("Write", {"file_path": "hello.py", "content": "def main():\n    print('hi')\n"}),
            ("Bash", {"command": "python hello.py", "timeout": 30.5, "background": False}),
        ],
    ),
    (
        "<tool_call>\n<function=TodoWrite>\n<parameter=todos>\n"
        '[{"content": "read notes", "status": "pending"}]\n</parameter>\n'
        "<parameter=options>\n{'merge': True}\n</parameter>\n</function>\n</tool_call>",
        [("TodoWrite", {"todos": [{"content": "read notes", "status": "pending"}],
                        "options": {"merge": True}})],
    ),
    # Seed-OSS wraps the same XML in its own tag
    (
        "<seed:tool_call>\n<function=Glob>\n<parameter=pattern>**/*.md</parameter>\n"
        "</function>\n</seed:tool_call>",
        [("Glob", {"pattern": "**/*.md"})],
    ),
    # SmolLM2: a JSON list inside <tool_call>
    (
        '<tool_call>[{"name": "Glob", "arguments": {"pattern": "*.py"}}, '
        '{"name": "Read", "arguments": {"file_path": "setup.py"}}]</tool_call>',
        [("Glob", {"pattern": "*.py"}), ("Read", {"file_path": "setup.py"})],
    ),
    # small Qwen2.5: a Python dict in the Hermes tag
    (
        "<tool_call>\n{'name': 'Read', 'arguments': {'file_path': 'notes.txt', 'offset': None}}"
        "\n</tool_call>",
        [("Read", {"file_path": "notes.txt", "offset": None})],
    ),
    # Qwen2.5-Coder sometimes uses <tools> for the tag
    (
        '<tools>\n{"name": "Bash", "arguments": {"command": "git log -3"}}\n</tools>',
        [("Bash", {"command": "git log -3"})],
    ),
    # Mistral (Nemo, Small): [TOOL_CALLS] then a JSON list with 9-character ids
    (
        '[TOOL_CALLS][{"name": "read_file", "arguments": {"path": "notes.txt"}, '
        '"id": "a1b2c3d4e"}]',
        [("read_file", {"path": "notes.txt"})],
    ),
    # Mistral v11 (Devstral, Magistral): [TOOL_CALLS]name[ARGS]{json}, repeated
    (
        '[TOOL_CALLS]list_dir[ARGS]{"path": "src"}[TOOL_CALLS]read_file[ARGS]{"path": "a.py"}',
        [("list_dir", {"path": "src"}), ("read_file", {"path": "a.py"})],
    ),
    # Llama 3.2: <|python_tag|> and "parameters"
    (
        '<|python_tag|>{"type": "function", "name": "read_file", "parameters": '
        '{"path": "notes.txt"}}<|eom_id|>',
        [("read_file", {"path": "notes.txt"})],
    ),
    # Llama 3.2 1B/3B pythonic list
    (
        '[read_file(path="notes.txt"), list_dir(path=".", depth=2)]',
        [("read_file", {"path": "notes.txt"}), ("list_dir", {"path": ".", "depth": 2})],
    ),
    # LFM2: a pythonic list between its special tokens
    (
        '<|tool_call_start|>[Glob(pattern="*.toml")]<|tool_call_end|>Checking the config.',
        [("Glob", {"pattern": "*.toml"})],
    ),
    # Functionary v3.2
    ('>>>Bash\n{"command": "make test"}', [("Bash", {"command": "make test"})]),
    # Hermes' other spelling of the function tag
    (
        '<function name="Bash">{"command": "uname -a"}</function>',
        [("Bash", {"command": "uname -a"})],
    ),
    # GLM 4.5
    (
        "<tool_call>Read\n<arg_key>file_path</arg_key>\n<arg_value>notes.txt</arg_value>\n"
        "<arg_key>limit</arg_key>\n<arg_value>5</arg_value>\n</tool_call>",
        [("Read", {"file_path": "notes.txt", "limit": 5})],
    ),
    # Kimi K2
    (
        "<|tool_calls_section_begin|><|tool_call_begin|>functions.Bash:0"
        '<|tool_call_argument_begin|>{"command": "ls"}<|tool_call_end|>'
        "<|tool_calls_section_end|>",
        [("Bash", {"command": "ls"})],
    ),
    # gpt-oss (harmony)
    (
        "<|channel|>commentary to=functions.Read <|constrain|>json<|message|>"
        '{"file_path": "notes.txt"}<|call|>',
        [("Read", {"file_path": "notes.txt"})],
    ),
    # a Python dict in prose (SmolLM2 without tags)
    (
        "Sure! {'name': 'Bash', 'arguments': {'command': 'ls -la', 'verbose': True}} "
        "That lists the files.",
        [("Bash", {"command": "ls -la", "verbose": True})],
    ),
    # near-JSON inside the tag: unquoted keys, trailing commas
    (
        '<tool_call>\n{name: "Read", arguments: {file_path: "notes.txt",},}\n</tool_call>',
        [("Read", {"file_path": "notes.txt"})],
    ),
]

# DeepSeek writes its markers with full-width characters; built here to keep them visible.
_B, _S = "\uff5c", "\u2581"


def _ds(name: str) -> str:
    return f"<{_B}tool{_S}{name}{_B}>"


SAMPLES += [
    # DeepSeek R1: function<sep>NAME then a json fence
    (
        f"{_ds('calls' + _S + 'begin')}{_ds('call' + _S + 'begin')}function{_ds('sep')}Read\n"
        f'```json\n{{"file_path": "notes.txt"}}\n```{_ds("call" + _S + "end")}'
        f"{_ds('calls' + _S + 'end')}",
        [("Read", {"file_path": "notes.txt"})],
    ),
    # DeepSeek V3.1: NAME<sep>{json}
    (
        f"{_ds('calls' + _S + 'begin')}{_ds('call' + _S + 'begin')}Bash{_ds('sep')}"
        f'{{"command": "pwd"}}{_ds("call" + _S + "end")}{_ds("calls" + _S + "end")}',
        [("Bash", {"command": "pwd"})],
    ),
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
        # tool syntax, but for tools that are not bound
        "<tool_call>\n<function=rm_rf><parameter=path>/</parameter></function>\n</tool_call>",
        '[TOOL_CALLS][{"name": "send_email", "arguments": {"to": "x"}}]',
        '[send_email(to="x")]',
        ">>>send_email\n{}",
        "Call it like {'name': 'send_email', 'arguments': {}} if you want.",
        "Use a list comprehension: [f(x) for x in xs]",
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


def test_ids_of_recovered_calls_are_stable_for_the_same_message() -> None:
    text = '<tool_call>{"name": "Bash", "arguments": {"command": "ls"}}</tool_call>'
    first = recover_tool_calls(AIMessage(content=text, id="run-1"), NAMES)
    again = recover_tool_calls(AIMessage(content=text, id="run-1"), NAMES)
    other = recover_tool_calls(AIMessage(content=text, id="run-2"), NAMES)
    assert first.tool_calls[0]["id"] == again.tool_calls[0]["id"]
    assert first.tool_calls[0]["id"] != other.tool_calls[0]["id"]


def test_xml_values_follow_the_tool_schema_when_it_is_known() -> None:
    text = (
        "<function=Write><parameter=file_path>20</parameter><parameter=content>\n"
        '{"a": 1}\n</parameter><parameter=mode>420</parameter></function>'
    )
    schemas = {"Write": {"file_path": {"type": "string"}, "content": {"type": "string"},
                         "mode": {"type": "integer"}}}
    (typed,) = scan_tool_calls(text, NAMES, schemas=schemas)
    assert typed["args"] == {"file_path": "20", "content": '{"a": 1}', "mode": 420}
    (guessed,) = scan_tool_calls(text, NAMES)
    assert guessed["args"] == {"file_path": 20, "content": {"a": 1}, "mode": 420}


def test_a_torn_call_is_reported_not_guessed() -> None:
    cut_json = '<tool_call>{"name": "Write", "arguments": {"file_path": "a.py", "content": "de'
    (bad,) = scan_tool_calls(cut_json, NAMES)
    assert bad["type"] == "invalid_tool_call" and bad["name"] == "Write"
    cut_xml = "<function=Write><parameter=file_path>a.py</parameter><parameter=content>def f("
    (bad,) = scan_tool_calls(cut_xml, NAMES, cut_off=True)
    assert bad["type"] == "invalid_tool_call"
    # a reply that ended on its own may omit the closing tags
    (ok,) = scan_tool_calls(cut_xml.replace("def f(", "x = 1"), NAMES)
    assert ok["args"] == {"file_path": "a.py", "content": "x = 1"}
    assert recover_tool_calls(AIMessage(content=cut_json), NAMES).tool_calls == []
