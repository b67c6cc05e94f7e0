"""Commands that destroy or leak: they always ask (in ``default`` and ``acceptEdits``),
whatever the allow rules say, because one allow rule written too wide must not cost a
user their repository or their keys.

:func:`danger` judges a shell line and returns why it is dangerous, or ``None``. It is a
safety net, not a sandbox: the sandbox stays the limit.
"""

from __future__ import annotations

import posixpath
import re

from claude_like.permissions.shell_words import SimpleCommand, UnparsableCommand, split_commands

_PIPE_TO_SHELL = re.compile(
    r"\b(curl|wget|fetch)\b[^;&]*\|\s*(sudo\s+)?"
    r"(\S*/)?(ba|z|da|k|fi)?sh\b|\b(curl|wget)\b[^;&]*\|\s*(sudo\s+)?(\S*/)?(python\d*|perl|ruby|node)\b"
)
_REDIRECT_INTO_GIT = re.compile(r">>?\s*(\S*/)?\.git/")
_WRITERS = frozenset({"rm", "mv", "cp", "tee", "truncate", "dd", "chmod", "chown", "ln",
                      "install", "rsync", "shred"})
_DESTROYERS = frozenset({"mkfs", "fdisk", "wipefs", "shutdown", "reboot", "halt", "poweroff"})


def _flags(words: tuple[str, ...]) -> set[str]:
    """Short flags split into letters (``-rf`` -> r, f) plus long flags as written."""
    out: set[str] = set()
    for w in words[1:]:
        if w.startswith("--"):
            out.add(w)
        elif w.startswith("-") and len(w) > 1:
            out.update(w[1:])
    return out


def _targets(words: tuple[str, ...]) -> list[str]:
    return [w for w in words[1:] if not w.startswith("-")]


def _inside_scratch(path: str, scratch: str) -> bool:
    """Whether the relative ``path`` stays in ``scratch`` (``..`` folded first, so
    ``scratch/../../src`` is not in it)."""
    if not scratch or path.startswith("/"):
        return False
    path, scratch = posixpath.normpath(path), posixpath.normpath(scratch)
    return path == scratch or path.startswith(scratch + "/")


def _command_danger(cmd: SimpleCommand, scratch: str) -> str | None:
    words = cmd.words
    name = words[0].rsplit("/", 1)[-1]
    if name == "sudo":
        return "runs a command as root (sudo)"
    flags = _flags(words)
    if name == "rm" and flags & {"r", "R", "--recursive"}:
        targets = _targets(words)
        if not targets or not all(_inside_scratch(t, scratch) for t in targets):
            return "deletes recursively (rm -r) outside the scratch folder"
    if name == "git" and len(words) > 1:
        sub = words[1]
        if sub == "push" and (flags & {"f", "--force", "--force-with-lease", "--mirror",
                                       "--delete"} or any(w.startswith("+") for w in words[2:])):
            return "rewrites or deletes remote history (git push --force/--delete)"
        if sub == "reset" and "--hard" in flags:
            return "throws away uncommitted work (git reset --hard)"
        if sub == "clean" and "f" in flags:
            return "deletes untracked files (git clean -f)"
        if sub in ("checkout", "restore") and "." in words[2:]:
            return "throws away uncommitted changes (git checkout/restore .)"
    if name in ("chmod", "chown") and flags & {"R", "--recursive"}:
        return f"changes permissions or owners recursively ({name} -R)"
    if name == "chmod" and any(re.fullmatch(r"0?777|a\+rwx|o\+w", w) for w in words[1:]):
        return "makes files writable by everyone (chmod 777)"
    if name in _DESTROYERS or name.startswith("mkfs."):
        return f"can destroy a disk or stop the machine ({name})"
    if name == "dd" and any(w.startswith("of=/dev/") for w in words):
        return "writes a raw device (dd of=/dev/...)"
    if name in _WRITERS and any(w.startswith(".git/") or "/.git/" in w or w == ".git"
                                for w in words[1:]):
        return "writes inside .git (the repository's own data)"
    if name in ("sed", "perl") and "i" in flags and any(".git/" in w for w in words[1:]):
        return "writes inside .git (the repository's own data)"
    if name in ("scp", "nc", "ncat", "netcat", "telnet", "ftp", "sftp"):
        return f"can send data off the machine ({name})"
    if name in ("curl", "wget") and (flags & {"T", "F", "--upload-file", "--form",
                                              "--post-file"} or any(
            w.startswith("@") for w in words[1:])):
        return f"uploads data ({name})"
    return None


def danger(line: str, *, scratch: str = "") -> str | None:
    """Why the shell ``line`` destroys or leaks, or None. ``scratch`` is a folder (relative
    to the workspace) where recursive deletes are fine."""
    if _PIPE_TO_SHELL.search(line):
        return "runs code downloaded from the network (curl ... | sh)"
    if _REDIRECT_INTO_GIT.search(line):
        return "writes inside .git (the repository's own data)"
    if re.search(r":\(\)\s*\{", line):
        return "a fork bomb"
    try:
        commands = split_commands(line)
    except UnparsableCommand:
        return None  # the allow rules already refuse what cannot be read
    for cmd in commands:
        reason = _command_danger(cmd, scratch)
        if reason:
            return reason
    return None
