"""Approval requests (what the user is asked) and verdicts (what happens to a call).

Both are TypedDicts: typed for readers and type checkers, plain JSON-able dicts at run
time, so they travel through LangGraph's ``interrupt()`` and any checkpointer (SQLite too)
and come back unchanged after a process restart.

An answer to a request is ``"allow"``, ``"deny"``, ``"always"`` (allow, and add the
request's ``always_rule`` for the rest of the session), or a dict ``{"behavior": "allow" |
"deny" | "always", "message": ..., "reason": ..., "updated_input": {...}, "mode": ...}``
(``message``: the user's words to the model; ``reason``: a refusal's reason when it was
not the user's, e.g. no terminal to ask; ``mode``: the permission mode to switch to when
an ``ExitPlanMode`` plan is approved).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal, NotRequired

from typing_extensions import TypedDict

from claude_like.permissions.modes import PermissionMode, check_mode
from claude_like.permissions.rules import EDIT_TOOLS, SHELL_TOOLS
from claude_like.permissions.shell_words import UnparsableCommand, split_commands

PLAN_TOOL = "ExitPlanMode"
"""The tool that presents a plan in plan mode; approving it leaves plan mode."""
PLAN_APPROVED_MODE: PermissionMode = "default"
Answer = Literal["allow", "deny", "always"]
SUBCOMMAND_PROGRAMS = frozenset({
    "git", "npm", "pnpm", "yarn", "npx", "bun", "cargo", "go", "uv", "poetry", "pip", "pip3",
    "docker", "kubectl", "helm", "terraform", "gh", "make", "dotnet", "mvn", "gradle",
    "conda", "brew", "rustup"})
"""Programs whose second word picks what they do, so ``always`` allows ``git status:*``
rather than every ``git`` command; for other programs it allows the program (``echo:*``),
and ``run`` adds one more word (``npm run test:*``)."""


class ApprovalRequest(TypedDict):
    """One tool call waiting for the user's answer."""

    tool_call_id: str
    tool: str
    input: dict[str, Any]
    reason: str
    """Why it asks (``default mode asks before Bash``, ``a dangerous command: ...``)."""
    rule: str | None
    """The ask rule that caught the call, if one did."""
    diff: str | None
    """For Write/Edit, the change as a unified diff; for ExitPlanMode, the plan."""
    always_rule: str | None
    """The allow rule ``always`` adds for the session (None: ``always`` is not offered)."""


class Verdict(TypedDict):
    """What the tool node does with one call."""

    behavior: Literal["allow", "deny", "ask"]
    reason: str
    message: NotRequired[str]
    """For a refusal: what the model is told."""
    updated_input: NotRequired[dict[str, Any] | None]
    interrupt: NotRequired[bool]
    """A refusal that also ends the run."""


class AnswerError(ValueError):
    """An answer to an approval request that cannot be understood."""


def refusal_message(tool: str, why: str) -> str:
    """What the model reads for a refused call: the reason, that nothing ran, and not to
    send the same call again (small models otherwise retry it in a loop)."""
    return (f"Permission denied: {why}. This {tool} call was not run. Do not send it again "
            "(it would be refused again); continue another way, or ask the user.")


def always_rule(tool: str, tool_input: Mapping[str, Any]) -> str | None:
    """The session rule ``always`` adds: ``Bash(git diff:*)`` or ``Bash(echo:*)`` for a
    simple command (see :data:`SUBCOMMAND_PROGRAMS`), edits anywhere in the workspace for
    file changes, the tool's name otherwise. A compound shell line gets none (each part is its own
    decision), nor does the plan."""
    if tool == PLAN_TOOL:
        return None
    if tool in EDIT_TOOLS:
        return "Edit(./**)"
    if tool not in SHELL_TOOLS:
        return tool
    try:
        commands = split_commands(str(tool_input.get("command", "")))
    except UnparsableCommand:
        return None
    if len(commands) != 1 or commands[0].opaque or not commands[0].words:
        return None
    words = commands[0].words
    size = 1
    if words[0] in SUBCOMMAND_PROGRAMS and len(words) > 1 and _is_word(words[1]):
        size = 3 if words[1] == "run" and len(words) > 2 and _is_word(words[2]) else 2
    return f"{tool}({' '.join(words[:size])}:*)"


def _is_word(text: str) -> bool:
    return bool(re.fullmatch(r"[A-Za-z][\w:-]*", text))


def parse_answer(answer: Any, request: ApprovalRequest) -> tuple[Verdict, str | None,
                                                                 PermissionMode | None]:
    """The verdict for ``request`` given the user's ``answer``, the session rule to add
    (``always``) and the mode to switch to (an approved plan)."""
    fields: Mapping[str, Any] = answer if isinstance(answer, Mapping) else {"behavior": answer}
    behavior = fields.get("behavior")
    if isinstance(behavior, bool):
        behavior = "allow" if behavior else "deny"
    if behavior in ("y", "yes"):
        behavior = "allow"
    if behavior in ("n", "no"):
        behavior = "deny"
    if behavior not in ("allow", "deny", "always"):
        raise AnswerError(f"answer for {request['tool']} ({request['tool_call_id']}) must be "
                          f"'allow', 'deny' or 'always', not {behavior!r}")
    if behavior == "deny":
        said = str(fields.get("message") or "")
        why = str(fields.get("reason") or "") or (
            f"the user refused it ({said})" if said else "the user refused it")
        return ({"behavior": "deny", "reason": why,
                 "message": refusal_message(request["tool"], why),
                 "interrupt": bool(fields.get("interrupt"))}, None, None)
    updated = fields.get("updated_input", fields.get("updatedInput"))
    if updated is not None and not isinstance(updated, dict):
        raise AnswerError("updated_input must be a dict of arguments")
    verdict: Verdict = {"behavior": "allow", "reason": "the user allowed it",
                        "updated_input": updated}
    mode: PermissionMode | None = None
    if request["tool"] == PLAN_TOOL:
        mode = check_mode(str(fields.get("mode") or PLAN_APPROVED_MODE))
    rule = request["always_rule"] if behavior == "always" else None
    return verdict, rule, mode


def answers_for(resume: Any, requests: list[ApprovalRequest]) -> dict[str, Any]:
    """Map each request's id to its answer: ``resume`` is one answer for all, or a dict
    keyed by tool-call id (a request with no answer is refused)."""
    ids = {r["tool_call_id"] for r in requests}
    if isinstance(resume, Mapping) and resume and set(resume) <= ids:
        return {i: resume.get(i, {"behavior": "deny", "message": "no answer was given"})
                for i in ids}
    return {i: resume for i in ids}
