"""Permission settings files: where they are read from, how they combine, bad files."""

from __future__ import annotations

import json

import pytest

from claude_like.permissions.settings import SettingsError, load_settings


def write(path, value):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(value if isinstance(value, str) else json.dumps(value))


@pytest.fixture
def user_file(tmp_path):
    return tmp_path / "home" / "settings.json"


def test_rules_of_every_file_combine_and_the_nearest_mode_wins(tmp_path, user_file):
    ws = tmp_path / "ws"
    write(user_file, {"permissions": {"allow": ["Bash(git status)"], "defaultMode": "plan"}})
    write(ws / ".claude/settings.json", {"permissions": {"deny": ["Read(./.env)"],
                                                         "defaultMode": "acceptEdits"}})
    write(ws / ".claude/settings.local.json", {"permissions": {"ask": ["Bash(git push:*)"]}})
    write(ws / ".claude-like/settings.json", {"permissions": {"allow": ["Edit(src/**)"]}})
    s = load_settings(ws, user_file=user_file)
    assert s.allow == ["Bash(git status)", "Edit(src/**)"]
    assert (s.ask, s.deny) == (["Bash(git push:*)"], ["Read(./.env)"])
    assert s.default_mode == "acceptEdits"
    assert [p.name for p in s.sources] == ["settings.json", "settings.json",
                                           "settings.local.json", "settings.json"]
    rules = s.rules(str(ws), deny=["Bash(rm:*)"])
    assert rules.decide("Read", {"file_path": ".env"})[0] == "deny"
    assert rules.decide("Bash", {"command": "rm x"})[0] == "deny"
    assert rules.decide("Edit", {"file_path": "src/a.py"})[0] == "allow"


def test_a_project_set_up_for_claude_code_works_unchanged(tmp_path, user_file):
    write(tmp_path / ".claude/settings.json",
          {"permissions": {"allow": ["Bash(npm run test:*)"]}, "env": {"X": "1"},
           "model": "claude-sonnet"})
    s = load_settings(tmp_path, user_file=user_file)
    assert s.allow == ["Bash(npm run test:*)"] and s.default_mode is None


def test_no_files_is_no_rules(tmp_path, user_file):
    s = load_settings(tmp_path, user_file=user_file)
    assert (s.allow, s.ask, s.deny, s.sources) == ([], [], [], [])


@pytest.mark.parametrize(("content", "message"), [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "top level must be a JSON object"),
    ({"permissions": []}, "\"permissions\" must be an object"),
    ({"permissions": {"deny": "Bash"}}, "permissions.deny must be a list"),
    ({"permissions": {"allow": ["Bash("]}}, "not a permission rule"),
    ({"permissions": {"defaultMode": "yolo"}}, "defaultMode"),
])
def test_a_broken_file_is_a_clear_error_naming_it(tmp_path, user_file, content, message):
    path = tmp_path / ".claude-like/settings.json"
    write(path, content)
    with pytest.raises(SettingsError, match=message) as info:
        load_settings(tmp_path, user_file=user_file)
    assert str(path) in str(info.value)
    assert path.exists()  # nothing of the user's is touched


def test_an_oversized_file_is_refused(tmp_path, user_file):
    write(user_file, " " * (300 * 1024) + "{}")
    with pytest.raises(SettingsError, match="larger than"):
        load_settings(tmp_path, user_file=user_file)


def test_hooks_of_every_file_combine_lowest_precedence_first(tmp_path, user_file):
    def entry(command):
        return {"matcher": "Bash", "hooks": [{"type": "command", "command": command}]}

    ws = tmp_path / "ws"
    write(user_file, {"hooks": {"PreToolUse": [entry("user")]}})
    write(ws / ".claude/settings.json", {"hooks": {"PreToolUse": [entry("project")],
                                                   "Stop": [{"hooks": []}]}})
    write(ws / ".claude-like/settings.json", {"hooks": {"PreToolUse": [entry("ours")]}})
    s = load_settings(ws, user_file=user_file)
    assert [e["hooks"][0]["command"] for e in s.hooks["PreToolUse"]] == [
        "user", "project", "ours"]
    assert s.hooks["Stop"] == [{"hooks": []}]
    assert load_settings(tmp_path / "empty", user_file=tmp_path / "none.json").hooks == {}


def test_a_malformed_hook_entry_is_an_error_naming_the_file(tmp_path, user_file):
    path = tmp_path / ".claude/settings.local.json"
    write(path, {"hooks": {"PreToolUse": [{"matcher": "Bash",
                                           "hooks": [{"type": "command"}]}]}})
    with pytest.raises(SettingsError, match="command must be a non-empty string") as info:
        load_settings(tmp_path, user_file=user_file)
    assert str(path) in str(info.value)
