"""The local sandbox's programs get a minimal environment: no host secrets, on screen or
on disk."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from claude_like.sandbox import LocalSandbox

SECRET = "sk-test-0123456789abcdef-NEVER-SHOWN"


@pytest.fixture
def secret_env(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("ALLOWED_VAR", "allowed-value")


def files_holding(text: str, *tops: Path) -> list[Path]:
    hits = []
    for top in tops:
        for dirpath, _dirs, files in os.walk(top):
            for name in files:
                p = Path(dirpath, name)
                try:
                    if text.encode() in p.read_bytes():
                        hits.append(p)
                except OSError:
                    continue
    return hits


def sandbox_temp_dirs() -> list[Path]:
    return [p for p in Path(tempfile.gettempdir()).iterdir() if p.name.startswith("claude-like")]


def test_the_shell_never_sees_host_secrets(secret_env, workspace):
    with LocalSandbox(workspace) as sb:
        out = sb.execute("env; export -p; echo \"[$OPENAI_API_KEY]\"").output
        assert SECRET not in out and "OPENAI_API_KEY" not in out
        assert "[]" in out
        # What the shell exported itself is restored after a restart, from memory.
        sb.execute("export MINE=kept")
        assert "restarted" in sb.execute("exit 0").note
        assert sb.execute('echo "$MINE"').output.strip() == "kept"


def test_no_file_the_sandbox_writes_holds_a_secret(secret_env, workspace):
    with LocalSandbox(workspace) as sb:
        sb.execute(f"export TOKEN={SECRET}")  # the model exports a secret itself
        sb.execute("echo done")
        assert files_holding(SECRET, workspace, *sandbox_temp_dirs()) == []
    assert files_holding(SECRET, workspace, *sandbox_temp_dirs()) == []


def test_home_and_tmp_are_private_and_removed_on_close(workspace):
    sb = LocalSandbox(workspace)
    home = sb.execute('echo "$HOME"').output.strip()
    tmp = sb.execute('echo "$TMPDIR"').output.strip()
    private = Path(sb.private_dir)
    assert Path(home).parent == private and Path(tmp).parent == private
    assert Path(home) != Path.home()
    assert (private.stat().st_mode & 0o777) == 0o700
    sb.close()
    assert not private.exists()


def test_allowed_and_given_variables_reach_the_shell(secret_env, workspace):
    with LocalSandbox(workspace, env_allow=("ALLOWED_VAR",), env={"GIVEN": "g"}) as sb:
        out = sb.execute('echo "$ALLOWED_VAR $GIVEN [$OPENAI_API_KEY]"').output.strip()
    assert out == "allowed-value g []"


def test_programs_run_by_run_program_see_no_secrets(secret_env, workspace):
    with LocalSandbox(workspace) as sb:
        result = sb.run_program(["env"], 30)
    assert result.exit_code == 0
    assert SECRET not in result.output and "PATH=" in result.output


def test_git_commits_keep_the_users_identity_and_nothing_else_of_gitconfig(
    workspace, tmp_path, monkeypatch
):
    home = tmp_path / "home"
    home.mkdir()
    (home / ".gitconfig").write_text(
        "[user]\n\tname = Ada Lovelace\n\temail = ada@example.org\n"
        f'[url "https://{SECRET}@example.org/"]\n\tinsteadOf = https://example.org/\n'
    )
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("GIT_CONFIG_GLOBAL", raising=False)
    with LocalSandbox(workspace) as sb:
        out = sb.execute(
            "git init -q . && git commit -q --allow-empty -m first && "
            "git log -1 --format='%an <%ae>'; git config --list"
        ).output
    assert "Ada Lovelace <ada@example.org>" in out
    assert SECRET not in out
