"""What all tools share: the set, read-only flags, schemas, errors as results, async."""

from __future__ import annotations

import asyncio
import threading

import pytest
from langchain_core.utils.function_calling import convert_to_openai_tool

from claude_like.tools import ClaudeLikeTool, ToolContext, make_tools


def test_make_tools_names_and_order(ctx):
    names = [t.name for t in make_tools(ctx)]
    assert names == ["Read", "Write", "Edit", "Glob", "Grep", "LS", "Bash"]


def test_make_tools_include(ctx):
    assert [t.name for t in make_tools(ctx, include=["Bash", "Read"])] == ["Read", "Bash"]
    with pytest.raises(ValueError, match="unknown"):
        make_tools(ctx, include=["Nope"])


def test_read_only_declarations(tools):
    assert all(isinstance(tool, ClaudeLikeTool) for tool in tools.values())
    assert {name for name, tool in tools.items() if tool.read_only} == {
        "Read",
        "Glob",
        "Grep",
        "LS",
    }


def test_tools_share_the_context(ctx, tools):
    assert all(t.ctx is ctx for t in tools.values())


@pytest.mark.parametrize("name", ["Read", "Write", "Edit", "Glob", "Grep", "LS", "Bash"])
def test_schema_describes_every_argument(tools, name):
    schema = convert_to_openai_tool(tools[name])["function"]
    assert schema["name"] == name
    assert len(schema["description"]) < 600  # short enough for a small model
    props = schema["parameters"]["properties"]
    assert props
    for prop, spec in props.items():
        assert spec.get("description"), f"{name}.{prop} has no description"


def test_record_is_kept_per_thread_and_defaults_to_one_shared_key(sandbox, tools):
    sandbox.write_bytes("a.txt", b"x\n")
    record = tools["Read"].ctx.record
    tools["Read"].invoke({"file_path": "a.txt"})  # no config: the shared default key
    tools["Read"].invoke({"file_path": "a.txt"}, {"configurable": {"thread_id": "t1"}})
    path = sandbox.resolve("a.txt")
    assert record.get("main", path) is not None and record.get("t1", path) is not None
    assert record.get("t2", path) is None
    stamp = record.get("t1", path)
    info = sandbox.stat("a.txt")
    assert (stamp.mtime, stamp.size) == (info.mtime, info.size)


def test_error_is_a_result_when_invoked_with_plain_args(tools):
    out = tools["Read"].invoke({"file_path": "missing.txt"})
    assert isinstance(out, str) and "does not exist" in out


def test_validation_error_says_what_to_fix(call):
    msg = call("Edit", file_path="a.txt", old_string="x")
    assert msg.status == "error"
    assert "new_string" in msg.content and "Field required" in msg.content


class ExplodingSandbox:
    """Delegates to a real sandbox but fails every read with an unexpected error."""

    def __init__(self, inner):
        self._inner = inner

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def read_bytes(self, path, limit=None):
        raise RuntimeError("disk on fire")


def test_unexpected_exception_becomes_error_result(sandbox):
    sandbox.write_bytes("a.txt", b"x")
    read = make_tools(ToolContext(ExplodingSandbox(sandbox)), include=["Read"])[0]
    msg = read.invoke(
        {"type": "tool_call", "id": "1", "name": "Read", "args": {"file_path": "a.txt"}}
    )
    assert msg.status == "error" and "disk on fire" in msg.content


async def test_async_invoke(sandbox, tools):
    sandbox.write_bytes("a.txt", b"hello\n")
    out = await tools["Read"].ainvoke({"file_path": "a.txt"})
    assert out == "     1\thello"


class RendezvousSandbox(ExplodingSandbox):
    """Each read waits until another read is in progress: passes only if reads overlap."""

    def __init__(self, inner):
        super().__init__(inner)
        self.barrier = threading.Barrier(2, timeout=30)

    def read_bytes(self, path, limit=None):
        self.barrier.wait()
        return self._inner.read_bytes(path, limit)


async def test_async_calls_run_concurrently(sandbox):
    sandbox.write_bytes("a.txt", b"A\n")
    sandbox.write_bytes("b.txt", b"B\n")
    read = make_tools(ToolContext(RendezvousSandbox(sandbox)), include=["Read"])[0]
    a, b = await asyncio.gather(
        read.ainvoke({"file_path": "a.txt"}), read.ainvoke({"file_path": "b.txt"})
    )
    assert a == "     1\tA" and b == "     1\tB"


@pytest.mark.parametrize("name", ["Read", "Write", "Edit", "Glob", "Grep", "LS", "Bash"])
def test_schema_has_plain_types(tools, name):
    """No ``anyOf``/null unions: simpler for small models and grammar-constrained decoding."""
    props = convert_to_openai_tool(tools[name])["function"]["parameters"]["properties"]
    for prop, spec in props.items():
        assert "anyOf" not in spec and "type" in spec, (prop, spec)


def test_null_arguments_mean_not_given(sandbox, ok):
    sandbox.write_bytes("a.txt", b"one\ntwo\n")
    assert ok("Read", file_path="a.txt", offset=None, limit=None).endswith("2\ttwo")
    args = {"glob": None, "context": None, "head_limit": None, "path": None}
    assert ok("Grep", pattern="two", **args).splitlines()[1:] == ["a.txt"]
    assert ok("Glob", pattern="*.txt", path=None) == "a.txt"
    assert "a.txt" in ok("LS", path=None, ignore=None)
    assert ok("Bash", command="echo x", timeout=None, description=None) == "x"
