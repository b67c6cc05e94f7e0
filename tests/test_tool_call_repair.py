"""normalize_tool_calls, argument repair, unique ids and answers for every call.

The invariant behind most tests: a thread sent to OpenAI/Anthropic must have, right after
each assistant message with calls, one tool result per call id (valid or invalid).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool

from claude_like.models.tool_arguments import parse_arguments
from claude_like.models.tool_call_repair import (
    INTERRUPTED,
    answer_calls,
    answer_unanswered,
    normalize_tool_calls,
    repair_invalid_calls,
    unique_call_ids,
)
from claude_like.tool_node import ToolNode

NAMES = ["Read", "Bash", "Edit"]


@tool
def Read(file_path: str, limit: int = 0) -> str:
    """Read a file."""
    return f"read {file_path} {limit}"


@tool
def Bash(command: str) -> str:
    """Run a command."""
    return f"ran {command}"


def bad(args: str, id: str | None = "c1", name: str | None = "Read") -> dict:
    return {"name": name, "args": args, "id": id, "error": "JSONDecodeError", "type": "x"}


def call(name: str, args: dict, id: str | None) -> dict:
    return {"name": name, "args": args, "id": id, "type": "tool_call"}


def assert_every_call_answered(messages: Sequence[BaseMessage]) -> None:
    """What the OpenAI and Anthropic APIs check: results follow their assistant message."""
    for i, msg in enumerate(messages):
        if not isinstance(msg, AIMessage):
            continue
        wanted = Counter(c["id"] for c in [*msg.tool_calls, *msg.invalid_tool_calls])
        got: Counter[str] = Counter()
        for later in messages[i + 1:]:
            if not isinstance(later, ToolMessage):
                break
            got[later.tool_call_id] += 1
        assert got == wanted, f"message {i}: results {dict(got)} for calls {dict(wanted)}"


# -- case 2: near-JSON arguments ---------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("{'file_path': 'notes.txt'}", {"file_path": "notes.txt"}),  # Python dict
        ('{"command": "ls -la",}', {"command": "ls -la"}),  # trailing comma
        ('{file_path: "notes.txt", limit: 20}', {"file_path": "notes.txt", "limit": 20}),
        ("{'file_path': 'a.py', 'replace_all': True, 'offset': None}",
         {"file_path": "a.py", "replace_all": True, "offset": None}),
        ('{"file_path": "a.py", "replace_all": True}', {"file_path": "a.py", "replace_all": True}),
        ('{"command": "ls" // list files\n}', {"command": "ls"}),  # a comment
        ('"{\\"file_path\\": \\"notes.txt\\"}"', {"file_path": "notes.txt"}),  # encoded twice
        ('{"command": "ls"}\n', {"command": "ls"}),  # plain JSON stays as it is
        ('{"command": "ls"}}', {"command": "ls"}),  # a stray closing brace
        # Python's adjacent strings: only literal_eval reads them whole
        ("{'content': 'import os\\n' 'print(os.getcwd())\\n'}",
         {"content": "import os\nprint(os.getcwd())\n"}),
        ('{"msg": "it\'s done",}', {"msg": "it's done"}),
    ],
)
def test_near_json_arguments_are_repaired(raw: str, expected: dict) -> None:
    assert parse_arguments(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        '{"file_path": "a.py", "content": "def f():\n    ret',  # cut inside a string
        '{"a": 1, "b":',  # cut after a key
        '{"command": "ls", "timeout": 3',  # cut after a number
        "please read notes.txt",  # prose
        '["notes.txt"]',  # JSON, but not an object
        '{"pattern": , "path": "src"}',  # a value left out: json-repair would put ""
        '{"command": "rm", "args"}',  # a key without a value: json-repair would drop it
        '{"a": 1} {"b": 2}',  # two objects: which one?
    ],
)
def test_arguments_that_need_guessing_are_not_repaired(raw: str) -> None:
    assert parse_arguments(raw) is None


def test_invalid_native_calls_with_near_json_become_real_calls() -> None:
    msg = AIMessage(
        content="",
        invalid_tool_calls=[
            bad("{'file_path': 'notes.txt', 'limit': 20}", id="c1"),
            bad('{"command": "ls",}', id="c2", name="Bash"),
            bad('{"file_path": "a.py", "content": "def', id="c3", name="Edit"),
        ],
    )
    out = repair_invalid_calls(msg)
    assert [(c["id"], c["name"], c["args"]) for c in out.tool_calls] == [
        ("c1", "Read", {"file_path": "notes.txt", "limit": 20}),
        ("c2", "Bash", {"command": "ls"}),
    ]
    assert [b["id"] for b in out.invalid_tool_calls] == ["c3"]
    assert out.additional_kwargs["repaired_tool_calls"] == ["c1", "c2"]


def test_a_reply_cut_by_the_generation_cap_is_not_completed() -> None:
    # only the last brace is missing: a slip when the model stopped, maybe more to come
    # (another edit, another key) when the generation cap stopped it
    raw = '{"file_path": "a.py", "edits": [{"old": "x = 1", "new": "x = 2"}]'
    stopped = AIMessage(content="", invalid_tool_calls=[bad(raw, name="Edit")],
                        response_metadata={"finish_reason": "stop"})
    capped = stopped.model_copy(update={"response_metadata": {"finish_reason": "length"}})
    assert repair_invalid_calls(stopped).tool_calls[0]["args"]["edits"][0]["new"] == "x = 2"
    assert repair_invalid_calls(capped).tool_calls == []
    anthropic = stopped.model_copy(update={"response_metadata": {"stop_reason": "max_tokens"}})
    assert repair_invalid_calls(anthropic).tool_calls == []


def test_a_whole_call_sent_as_arguments_is_unwrapped() -> None:
    msg = AIMessage(content="", invalid_tool_calls=[
        bad("{'name': 'Read', 'arguments': {'file_path': 'a'}}")])
    assert repair_invalid_calls(msg).tool_calls[0]["args"] == {"file_path": "a"}


# -- case 3: ids -------------------------------------------------------------------------


def test_duplicate_and_missing_ids_become_unique_and_stable() -> None:
    msg = AIMessage(
        content="",
        id="run-7",
        tool_calls=[
            call("Read", {"file_path": "a"}, "call_0"),
            call("Read", {"file_path": "b"}, "call_0"),  # llama.cpp-style repeated id
            call("Bash", {"command": "ls"}, None),
            call("Bash", {"command": "pwd"}, ""),
        ],
        invalid_tool_calls=[bad("{", id=None)],
    )
    out = unique_call_ids(msg)
    ids = [c["id"] for c in [*out.tool_calls, *out.invalid_tool_calls]]
    assert ids[0] == "call_0" and all(ids) and len(set(ids)) == 5
    assert [c["args"] for c in out.tool_calls] == [c["args"] for c in msg.tool_calls]
    again = unique_call_ids(msg.model_copy())
    assert [c["id"] for c in [*again.tool_calls, *again.invalid_tool_calls]] == ids
    assert unique_call_ids(out) is out  # nothing left to fix


def test_each_call_with_a_shared_id_gets_its_own_result() -> None:
    msg = AIMessage(content="", id="run-1", tool_calls=[
        call("Read", {"file_path": "a"}, "x"), call("Read", {"file_path": "b"}, "x"),
        call("Bash", {"command": "ls"}, None)])
    fixed = normalize_tool_calls(msg, NAMES)
    update = ToolNode([Read, Bash])({"messages": [HumanMessage("go"), fixed]}, {})
    results = update["messages"]
    assert [r.content for r in results] == ["read a 0", "read b 0", "ran ls"]
    assert_every_call_answered([fixed, *results])


# -- normalize_tool_calls: the planner's one entry point ---------------------------------


def test_normalize_recovers_text_calls_with_tools_typing_xml_values() -> None:
    text = ("<tool_call>\n<function=Read>\n<parameter=file_path>\n2024\n</parameter>\n"
            "<parameter=limit>\n20\n</parameter>\n</function>\n</tool_call>")
    msg = AIMessage(content=text, id="run-3")
    by_name = normalize_tool_calls(msg, NAMES)  # names only: "2024" reads as a number
    by_tool = normalize_tool_calls(msg, [Read, Bash])  # the schema says file_path is a string
    assert by_name.tool_calls[0]["args"] == {"file_path": 2024, "limit": 20}
    assert by_tool.tool_calls[0]["args"] == {"file_path": "2024", "limit": 20}
    assert by_tool.tool_calls[0]["id"] == by_name.tool_calls[0]["id"]
    assert by_tool.additional_kwargs["recovered_tool_calls"] is True


def test_normalize_turns_a_torn_text_call_into_an_invalid_call_with_an_id() -> None:
    msg = AIMessage(
        content='<tool_call>{"name": "Edit", "arguments": {"file_path": "a.py", "old_str',
        response_metadata={"finish_reason": "length"},
    )
    out = normalize_tool_calls(msg, NAMES)
    (torn,) = out.invalid_tool_calls
    assert out.tool_calls == [] and torn["name"] == "Edit" and torn["id"]
    (result,) = answer_calls(out, "Not run.")
    assert "Edit" in result.content and "JSON object" in result.content


def test_normalize_repairs_native_invalid_calls_and_keeps_plain_answers() -> None:
    native = AIMessage(content="Reading.", invalid_tool_calls=[bad("{'file_path': 'n'}", None)])
    out = normalize_tool_calls(native, NAMES)
    assert out.tool_calls[0]["args"] == {"file_path": "n"} and out.tool_calls[0]["id"]
    assert out.content == "Reading."
    answer = AIMessage(content="The file has 3 lines.", id="run-9")
    assert normalize_tool_calls(answer, NAMES) is answer


# -- case 4: every call gets a result ----------------------------------------------------


def test_dangling_calls_valid_and_invalid_are_answered_in_place() -> None:
    ai = AIMessage(content="", tool_calls=[call("Read", {"file_path": "a"}, "v1")],
                   invalid_tool_calls=[bad("{'x'", id="i1")])
    history = [HumanMessage("one"), ai, HumanMessage("two")]
    fixed = answer_unanswered(history)
    assert [type(m).__name__ for m in fixed] == [
        "HumanMessage", "AIMessage", "ToolMessage", "ToolMessage", "HumanMessage"]
    assert fixed[2].content == INTERRUPTED and fixed[2].tool_call_id == "v1"
    assert fixed[3].tool_call_id == "i1" and fixed[3].status == "error"
    assert "JSON object" in fixed[3].content and INTERRUPTED in fixed[3].content
    assert_every_call_answered(fixed)


def test_a_partly_answered_turn_gets_the_rest_before_the_next_message() -> None:
    ai = AIMessage(content="", tool_calls=[call("Read", {"file_path": "a"}, "a"),
                                           call("Read", {"file_path": "b"}, "b")])
    done = ToolMessage(content="A", tool_call_id="a")
    fixed = answer_unanswered([ai, done, HumanMessage("resume"), ai.model_copy()], note="n/a")
    assert [getattr(m, "tool_call_id", None) for m in fixed] == [None, "a", "b", None, None,
                                                                 "a", "b"]
    assert fixed[1] is done
    assert_every_call_answered(fixed)


def test_a_result_far_from_its_call_does_not_count_as_its_answer() -> None:
    ai = AIMessage(content="", tool_calls=[call("Bash", {"command": "ls"}, "c9")])
    late = ToolMessage(content="late", tool_call_id="c9")
    fixed = answer_unanswered([ai, HumanMessage("stop"), late])
    assert isinstance(fixed[1], ToolMessage) and fixed[1].content == INTERRUPTED


def test_a_complete_thread_is_left_as_it_is() -> None:
    ai = AIMessage(content="", tool_calls=[call("Bash", {"command": "ls"}, "c1")],
                   invalid_tool_calls=[bad("{", id="c2")])
    thread = [HumanMessage("hi"), ai, ToolMessage(content="x", tool_call_id="c2"),
              ToolMessage(content="y", tool_call_id="c1"), AIMessage(content="done")]
    assert answer_unanswered(thread) == thread


def test_the_turn_limit_answers_invalid_calls_too() -> None:
    last = AIMessage(content="", tool_calls=[call("Bash", {"command": "ls"}, "c1")],
                     invalid_tool_calls=[bad("{'a': ", id="c2"), bad("{", id=None)])
    notes = answer_calls(last, "Not run: the turn limit (30) was reached.")
    assert [n.tool_call_id for n in notes] == ["c1", "c2"]  # c2 says what to fix as well
    assert all("turn limit (30)" in n.content and n.status == "error" for n in notes)
    assert "JSON object" in notes[1].content
    fixed = normalize_tool_calls(last, NAMES)  # the idless one gets an id first
    assert_every_call_answered([fixed, *answer_calls(fixed, "Not run.")])
