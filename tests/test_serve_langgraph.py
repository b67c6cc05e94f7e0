"""``langgraph.json``: the config LangGraph Server reads is valid, and the graph factory it
names, loaded and called the way the server does (the run's config in, the server's own
checkpointer attached, a fresh factory call per run), runs the agent with a scripted model
chosen by environment variables, pausing for an approval in one run and resuming in the
next."""

from __future__ import annotations

import importlib.util
import inspect
import json
from pathlib import Path
from typing import Any

import pytest
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command
from langgraph_cli.config import validate_config_file
from scripted_provider import make_scripted

from claude_like.models import register_provider

REPO = Path(__file__).resolve().parent.parent
CONFIG = REPO / "langgraph.json"


def load_factory() -> Any:
    """The object ``langgraph.json`` names, imported from its file as the server does."""
    reference = validate_config_file(CONFIG)["graphs"]["claude_like"]
    path, _, name = reference.rpartition(":")
    spec = importlib.util.spec_from_file_location("claude_like_graph", CONFIG.parent / path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, name)


def test_langgraph_json_is_valid_and_names_the_factory() -> None:
    config = validate_config_file(CONFIG)
    assert config["dependencies"] == ["."]
    assert json.loads(CONFIG.read_text())["graphs"] == config["graphs"]
    factory = load_factory()
    (param,) = inspect.signature(factory).parameters.values()
    assert param.annotation is RunnableConfig  # how the server knows to pass the config


@pytest.fixture
def graph_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    register_provider("scripted", make_scripted)
    script = tmp_path / "script.json"
    script.write_text(json.dumps([
        {"text": "Writing.", "calls": [{"name": "Write",
                                        "args": {"file_path": "out.txt", "content": "ok\n"}}]},
        {"text": "Written."},
    ]))
    root = tmp_path / "workspaces"
    monkeypatch.setenv("CLAUDE_LIKE_MODEL", f"scripted:{script}")
    monkeypatch.setenv("CLAUDE_LIKE_WORKSPACE", str(root))
    monkeypatch.setenv("CLAUDE_LIKE_THREAD_WORKSPACES", "1")
    monkeypatch.setenv("CLAUDE_LIKE_SANDBOX", "local")
    return root


async def test_the_graph_runs_pauses_and_resumes_on_the_servers_checkpointer(
        graph_env: Path) -> None:
    factory = load_factory()
    saver = InMemorySaver()  # the server's checkpointer, shared by its workers
    config: RunnableConfig = {"configurable": {"thread_id": "thread-1"}}

    async with factory(config) as graph:
        assert graph.checkpointer is None  # the server brings its own
        run = graph.copy(update={"checkpointer": saver})
        out = await run.ainvoke({"messages": [{"role": "user", "content": "write out.txt"}],
                                 "turns": 0}, config)
    (pause,) = out["__interrupt__"]
    assert pause.value["type"] == "approval"
    assert pause.value["requests"][0]["tool"] == "Write"
    target = graph_env / "thread-1" / "out.txt"
    assert not target.exists()

    async with factory(config) as graph:  # the next run: a new agent, the same thread
        run = graph.copy(update={"checkpointer": saver})
        out = await run.ainvoke(Command(resume="allow"), config)
    assert target.read_text() == "ok\n"
    assert out["messages"][-1].content == "Written."
    assert out["stop_reason"] == "done"
