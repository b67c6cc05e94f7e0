"""``python -m claude_like``: the same as the ``claude-like`` command."""

from claude_like.cli import main

main()
