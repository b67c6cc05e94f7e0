"""SDK-shaped hook callbacks: what each event sends and what it makes of the answers,
matchers, how several hooks combine, and hooks that fail without stopping the run."""

from __future__ import annotations

import asyncio
import os
import threading

import pytest

from claude_like.hooks import HookContext, HookMatcher, Hooks


def make_callback(kind, answer, seen=None):
    """A sync or async callback that records its arguments and returns ``answer``."""
    def record(input_data, tool_use_id, context):
        if seen is not None:
            seen.append((input_data, tool_use_id, context))
        return answer(input_data) if callable(answer) else answer

    if kind == "sync":
        return record

    async def async_record(input_data, tool_use_id, context):
        await asyncio.sleep(0)
        return record(input_data, tool_use_id, context)

    return async_record


def pre(decision, reason="", **extra):
    return {"hookSpecificOutput": {"hookEventName": "PreToolUse",
                                   "permissionDecision": decision,
                                   "permissionDecisionReason": reason, **extra}}


def context(text, event="PostToolUse"):
    return {"hookSpecificOutput": {"hookEventName": event, "additionalContext": text}}


async def call(hooks, api, method, *args, **kwargs):
    """The sync method or its async twin (``a`` + name)."""
    if api == "sync":
        return await asyncio.to_thread(getattr(hooks, method), *args, **kwargs)
    return await getattr(hooks, "a" + method)(*args, **kwargs)


KINDS = pytest.mark.parametrize("kind", ["sync", "async"])
APIS = pytest.mark.parametrize("api", ["sync", "async"])


@KINDS
@APIS
async def test_pre_tool_use_sends_the_call_and_a_deny_stops_it(tmp_path, kind, api):
    seen = []
    hooks = Hooks({"PreToolUse": [HookMatcher("Bash", [make_callback(
        kind, pre("deny", "no network here"), seen)])]}, cwd=str(tmp_path), session_id="s1")
    out = await call(hooks, api, "pre_tool_use", "Bash", {"command": "curl x"}, "toolu_1")
    assert (out.decision, out.reason, out.updated_input) == ("deny", "no network here", None)
    [(data, tool_use_id, ctx)] = seen
    assert data == {"hook_event_name": "PreToolUse", "session_id": "s1",
                    "cwd": str(tmp_path), "tool_name": "Bash",
                    "tool_input": {"command": "curl x"}, "tool_use_id": "toolu_1"}
    assert tool_use_id == "toolu_1" and isinstance(ctx, HookContext)


@KINDS
@APIS
async def test_pre_tool_use_allow_and_ask(kind, api):
    for decision in ("allow", "ask"):
        hooks = Hooks({"PreToolUse": [HookMatcher(None, [make_callback(kind, pre(decision,
                                                                                "why"))])]})
        out = await call(hooks, api, "pre_tool_use", "Read", {}, "t")
        assert (out.decision, out.reason) == (decision, "why")


def test_the_call_s_session_id_wins_over_the_default():
    seen = []
    hooks = Hooks({"Stop": [HookMatcher(hooks=[make_callback("sync", {}, seen)])]},
                  session_id="default")
    hooks.stop(stop_hook_active=False, session_id="per-call")
    hooks.stop(stop_hook_active=False)
    assert [d["session_id"] for d, _, _ in seen] == ["per-call", "default"]


@pytest.mark.parametrize(("matcher", "tool", "runs"), [
    ("Bash", "Bash", True),
    ("Bash", "BashOutput", False),  # a name is the whole name, not a prefix
    ("Edit|Write", "Write", True),
    ("Edit|Write", "Edit", True),
    ("Edit|Write", "Read", False),
    ("mcp__.*", "mcp__github__search", True),
    ("mcp__.*", "Bash", False),
    (None, "Anything", True),
    ("", "Anything", True),
    ("*", "Anything", True),
    ("Bash(", "Bash(", True),  # not a valid expression: the exact name only
    ("Bash(", "Bash", False),
])
def test_matchers(matcher, tool, runs):
    seen = []
    hooks = Hooks({"PreToolUse": [HookMatcher(matcher, [make_callback("sync", {}, seen)])]})
    hooks.pre_tool_use(tool, {}, "t")
    assert bool(seen) is runs


def test_matchers_do_not_filter_events_without_a_tool():
    seen = []
    cb = make_callback("sync", {}, seen)
    hooks = Hooks({"Stop": [HookMatcher("Bash", [cb])],
                   "UserPromptSubmit": [HookMatcher("Bash", [cb])]})
    hooks.stop(stop_hook_active=False)
    hooks.user_prompt_submit("hi")
    assert [d["hook_event_name"] for d, _, _ in seen] == ["Stop", "UserPromptSubmit"]


@pytest.mark.parametrize("order", [("allow", "ask", "deny"), ("deny", "allow", "ask"),
                                   ("ask", "deny", "allow")])
def test_deny_beats_ask_beats_allow(order):
    hooks = Hooks({"PreToolUse": [HookMatcher(None, [make_callback("sync", pre(d, d + "!"))
                                                     for d in order])]})
    out = hooks.pre_tool_use("Bash", {}, "t")
    assert (out.decision, out.reason) == ("deny", "deny!")
    hooks = Hooks({"PreToolUse": [HookMatcher(None, [make_callback("sync", pre(d, d + "!"))
                                                     for d in order if d != "deny"])]})
    assert hooks.pre_tool_use("Bash", {}, "t").decision == "ask"


def test_reasons_of_every_hook_that_gave_the_winning_decision_are_kept():
    hooks = Hooks({"PreToolUse": [HookMatcher("Bash", [make_callback("sync", pre("deny", "a"))]),
                                  HookMatcher("*", [make_callback("sync", pre("allow", "ok")),
                                                    make_callback("async", pre("deny", "b"))])]})
    out = hooks.pre_tool_use("Bash", {}, "t")
    assert (out.decision, out.reason) == ("deny", "a\nb")


@KINDS
def test_updated_input_comes_from_the_last_hook_that_gave_one(kind):
    def rewrite(data):
        data["tool_input"]["command"] += " --dry-run"  # its own copy: the caller's is kept
        return pre("allow", updatedInput=dict(data["tool_input"]))

    hooks = Hooks({"PreToolUse": [HookMatcher("Bash", [
        make_callback(kind, pre("allow", updatedInput={"command": "first"})),
        make_callback(kind, rewrite),
        make_callback(kind, pre("allow")),  # gives none: does not erase the one before
    ])]})
    tool_input = {"command": "make"}
    out = hooks.pre_tool_use("Bash", tool_input, "t")
    assert out.updated_input == {"command": "make --dry-run"} and out.decision == "allow"
    assert tool_input == {"command": "make"}


def test_an_updated_input_that_is_not_an_object_is_reported_not_used():
    hooks = Hooks({"PreToolUse": [HookMatcher(None, [
        make_callback("sync", pre("allow", updatedInput="rm -rf /"))])]})
    out = hooks.pre_tool_use("Bash", {}, "t")
    assert out.updated_input is None
    assert out.messages == ["PreToolUse hook record failed: updatedInput is not an object"]


def test_the_older_top_level_decision_of_pre_tool_use_still_counts():
    hooks = Hooks({"PreToolUse": [HookMatcher(None, [
        make_callback("sync", {"decision": "block", "reason": "old style"})])]})
    assert hooks.pre_tool_use("Bash", {}, "t").decision == "deny"
    hooks = Hooks({"PreToolUse": [HookMatcher(None, [
        make_callback("sync", {"decision": "approve"})])]})
    assert hooks.pre_tool_use("Bash", {}, "t").decision == "allow"


@KINDS
@APIS
async def test_post_tool_use_adds_context_and_feeds_back_a_block(kind, api):
    seen = []
    hooks = Hooks({"PostToolUse": [HookMatcher("Edit|Write", [
        make_callback(kind, context("lint: 2 warnings"), seen),
        make_callback(kind, {"decision": "block", "reason": "tests fail now"}),
        make_callback(kind, context("formatted")),
    ])]})
    out = await call(hooks, api, "post_tool_use", "Edit", {"file_path": "a.py"}, "done",
                     "toolu_9", is_error=False)
    assert out.additional_context == "lint: 2 warnings\nformatted"
    assert out.block_reason == "tests fail now"
    data, tool_use_id, _ = seen[0]
    assert (data["hook_event_name"], data["tool_response"], tool_use_id) == (
        "PostToolUse", "done", "toolu_9")


def test_a_failed_tool_fires_post_tool_use_failure_not_post_tool_use():
    ran = []
    hooks = Hooks({"PostToolUse": [HookMatcher(None, [make_callback("sync", {}, ran)])],
                   "PostToolUseFailure": [HookMatcher("Bash", [make_callback(
                       "sync", context("try --help", "PostToolUseFailure"), ran)])]})
    out = hooks.post_tool_use("Bash", {"command": "x"}, "exit 1", "t", is_error=True)
    assert out.additional_context == "try --help"
    [(data, _, _)] = ran
    assert (data["hook_event_name"], data["error"]) == ("PostToolUseFailure", "exit 1")
    assert hooks.post_tool_use("Bash", {}, "fine", "t", is_error=False).additional_context is None
    assert len(ran) == 2 and ran[1][0]["hook_event_name"] == "PostToolUse"


@KINDS
@APIS
async def test_user_prompt_submit_blocks_or_adds_context(kind, api):
    seen = []
    hooks = Hooks({"UserPromptSubmit": [HookMatcher(hooks=[
        make_callback(kind, lambda d: context("branch: main", "UserPromptSubmit"), seen)])]})
    out = await call(hooks, api, "user_prompt_submit", "fix it")
    assert (out.blocked, out.additional_context) == (False, "branch: main")
    assert seen[0][0]["prompt"] == "fix it" and seen[0][1] is None
    hooks = Hooks({"UserPromptSubmit": [HookMatcher(hooks=[
        make_callback(kind, lambda d: {"decision": "block", "reason": "secret in prompt"}
                      if "sk-" in d["prompt"] else {})])]})
    out = await call(hooks, api, "user_prompt_submit", "key sk-123")
    assert (out.blocked, out.reason) == (True, "secret in prompt")
    assert not (await call(hooks, api, "user_prompt_submit", "hello")).blocked


@KINDS
@APIS
async def test_stop_can_make_the_agent_keep_working(kind, api):
    seen = []
    hooks = Hooks({"Stop": [HookMatcher(hooks=[make_callback(
        kind, lambda d: {} if d["stop_hook_active"] else
        {"decision": "block", "reason": "run the tests first"}, seen)])]})
    out = await call(hooks, api, "stop", stop_hook_active=False, last_message="Done.")
    assert (out.block, out.reason) == (True, "run the tests first")
    assert seen[0][0]["last_assistant_message"] == "Done."
    out = await call(hooks, api, "stop", stop_hook_active=True)
    assert (out.block, out.reason) == (False, "")


@pytest.mark.parametrize("key", ["continue", "continue_"])
def test_continue_false_denies_blocks_and_ends_with_its_stop_reason(key):
    halt = {key: False, "stopReason": "budget spent"}
    cb = make_callback("sync", halt)
    allow = make_callback("sync", pre("allow"))
    hooks = Hooks({event: [HookMatcher(None, [cb] if event != "PreToolUse" else [allow, cb])]
                   for event in ("PreToolUse", "PostToolUse", "UserPromptSubmit", "Stop")})
    out = hooks.pre_tool_use("Bash", {}, "t")
    assert (out.decision, out.reason) == ("deny", "budget spent")
    assert hooks.post_tool_use("Bash", {}, "", "t", is_error=False).block_reason == (
        "budget spent")
    prompt = hooks.user_prompt_submit("x")
    assert (prompt.blocked, prompt.reason) == (True, "budget spent")


def test_continue_false_on_stop_means_stop_even_if_another_hook_blocks():
    hooks = Hooks({"Stop": [HookMatcher(hooks=[
        make_callback("sync", {"decision": "block", "reason": "more"}),
        make_callback("async", {"continue": False, "stopReason": "enough"})])]})
    out = hooks.stop(stop_hook_active=False)
    assert out.block is False and "enough" in out.messages


def test_system_messages_go_to_the_user():
    hooks = Hooks({"PreToolUse": [HookMatcher(None, [
        make_callback("sync", {"systemMessage": "audited", **pre("allow")})])]})
    out = hooks.pre_tool_use("Bash", {}, "t")
    assert (out.decision, out.messages) == ("allow", ["audited"])


def boom(input_data, tool_use_id, context):
    raise ValueError("bad config")


async def async_boom(input_data, tool_use_id, context):
    raise KeyError("tool_input")


def returns_none(input_data, tool_use_id, context):
    return None


@pytest.mark.parametrize(("cb", "message"), [
    (boom, "PreToolUse hook boom failed: ValueError: bad config"),
    (async_boom, "PreToolUse hook async_boom failed: KeyError: 'tool_input'"),
    (returns_none, "PreToolUse hook returns_none failed: returned NoneType, not a dict"),
    (make_callback("sync", pre("maybe")),
     "PreToolUse hook record failed: permissionDecision 'maybe' is not allow, deny or ask"),
])
def test_a_failing_hook_allows_nothing_and_is_reported(cb, message):
    hooks = Hooks({"PreToolUse": [HookMatcher(None, [cb])]})
    out = hooks.pre_tool_use("Bash", {}, "t")
    assert (out.decision, out.messages) == (None, [message])
    hooks = Hooks({"PreToolUse": [HookMatcher(None, [cb, make_callback("sync",
                                                                       pre("ask", "sure?"))])]})
    out = hooks.pre_tool_use("Bash", {}, "t")  # the others still decide
    assert (out.decision, out.reason, out.messages) == ("ask", "sure?", [message])


@pytest.mark.parametrize("event", ["PostToolUse", "UserPromptSubmit", "Stop"])
def test_a_failing_hook_blocks_nothing_on_other_events(event):
    hooks = Hooks({event: [HookMatcher(None, [boom])]})
    if event == "PostToolUse":
        out = hooks.post_tool_use("Bash", {}, "", "t", is_error=False)
        assert out.block_reason is None
    elif event == "UserPromptSubmit":
        out = hooks.user_prompt_submit("x")
        assert out.blocked is False
    else:
        out = hooks.stop(stop_hook_active=False)
        assert out.block is False
    assert out.messages == [f"{event} hook boom failed: ValueError: bad config"]


@APIS
async def test_a_hook_past_its_matcher_s_timeout_is_left_behind_and_reported(api):
    release = threading.Event()

    def stuck(input_data, tool_use_id, context):
        release.wait(60)  # bounded only so that a broken timeout fails instead of hanging
        return pre("allow")

    async def async_stuck(input_data, tool_use_id, context):
        await asyncio.sleep(60)
        return pre("allow")

    hooks = Hooks({"PreToolUse": [HookMatcher(None, [stuck, async_stuck], timeout=0.2),
                                  HookMatcher(None, [make_callback("sync", pre("ask"))])]})
    try:
        out = await call(hooks, api, "pre_tool_use", "Bash", {}, "t")
    finally:
        release.set()
    assert out.decision == "ask"
    assert out.messages == ["PreToolUse hook stuck failed: timed out after 0.2 s",
                            "PreToolUse hook async_stuck failed: timed out after 0.2 s"]


def test_hooks_of_one_event_run_at_the_same_time():
    barrier = threading.Barrier(2, timeout=30)  # sequential runs could never both pass

    def meet(input_data, tool_use_id, context):
        barrier.wait()
        return pre("allow")

    hooks = Hooks({"PreToolUse": [HookMatcher(None, [meet, meet])]})
    out = hooks.pre_tool_use("Bash", {}, "t")
    assert (out.decision, out.messages) == ("allow", [])


async def test_the_sync_api_works_inside_a_running_loop():
    async def deny(input_data, tool_use_id, context):
        return pre("deny", "from async")

    hooks = Hooks({"PreToolUse": [HookMatcher(None, [deny])]})
    out = hooks.pre_tool_use("Bash", {}, "t")  # called straight from a coroutine
    assert (out.decision, out.reason) == ("deny", "from async")


def test_has_and_bool():
    assert not Hooks() and not Hooks({"Stop": [HookMatcher(hooks=[])]})
    hooks = Hooks({"Stop": [HookMatcher(hooks=[boom])]})
    assert hooks and hooks.has("Stop") and not hooks.has("PreToolUse")
    commands = Hooks(commands={"PostToolUse": [{"matcher": "Edit", "hooks": [
        {"type": "command", "command": "true"}]}]})
    assert commands and commands.has("PostToolUse") and not commands.has("Stop")


def test_no_matching_hook_is_an_empty_outcome():
    hooks = Hooks({"PreToolUse": [HookMatcher("Edit", [boom])]})
    out = hooks.pre_tool_use("Bash", {}, "t")
    assert (out.decision, out.reason, out.updated_input, out.messages) == (None, "", None, [])


def test_a_hook_that_is_not_callable_is_refused_at_once():
    with pytest.raises(TypeError, match="not callable"):
        Hooks({"PreToolUse": [HookMatcher(None, ["echo hi"])]})


def test_cwd_is_made_absolute():
    assert Hooks(cwd=".").cwd == os.path.abspath(".")
