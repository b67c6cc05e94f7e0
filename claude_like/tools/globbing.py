"""Glob patterns over ``/``-separated relative paths (Glob and LS), with ``{a,b}`` braces."""

from __future__ import annotations

import re


def expand_braces(pattern: str) -> list[str]:
    """``src/*.{ts,tsx}`` -> ``src/*.ts``, ``src/*.tsx`` (nested braces supported)."""
    m = re.search(r"\{([^{}]*,[^{}]*)\}", pattern)
    if not m:
        return [pattern]
    out: list[str] = []
    for alt in m.group(1).split(","):
        out.extend(expand_braces(pattern[: m.start()] + alt + pattern[m.end() :]))
    return out


def glob_to_regex(pattern: str) -> re.Pattern[str]:
    """A glob over ``/``-separated relative paths: ``**`` spans folders, ``*`` does not."""
    i, n = 0, len(pattern)
    out = []
    while i < n:
        c = pattern[i]
        if c == "*":
            if pattern.startswith("**", i):
                i += 2
                if i < n and pattern[i] == "/":
                    i += 1
                    out.append("(?:.*/)?")
                else:
                    out.append(".*")
                continue
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            j = pattern.find("]", i + 1)
            if j == -1:
                out.append(re.escape(c))
            else:
                body = pattern[i + 1 : j]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append(f"[{body}]")
                i = j
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out) + r"\Z", re.DOTALL)


class GlobMatcher:
    """Matches relative paths against a glob with braces."""

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self.regexes = [glob_to_regex(p) for p in expand_braces(pattern)]

    def match(self, rel_path: str) -> bool:
        return any(r.match(rel_path) for r in self.regexes)
