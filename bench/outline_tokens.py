"""Tokens an Outline of a folder costs against Reading the same files whole.

Both go through the real tools on a local sandbox over this repository: Outline of the
folder in one call, and Read of every file it outlined, page after page until each file is
read to its end (as a model would have to). The output limit is lifted for both, so the
figures compare content, not paging. Tokens by ``count_tokens_approximately`` at the
agent's own ratio (``claude_like.models.tokens.approx_tokens``).

    python bench/outline_tokens.py [folder]     # default: claude_like
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from langchain_core.messages import ToolMessage

from claude_like.models.tokens import approx_tokens
from claude_like.sandbox import LocalSandbox
from claude_like.tools import Read, ToolContext
from claude_like.tools.outline import Outline

REPO = Path(__file__).resolve().parent.parent
_FILE_HEAD = re.compile(r"^(\S.*) \(\d+ lines\)", re.MULTILINE)
_MORE = re.compile(r"call Read with offset=(\d+)")


def tokens(text: str) -> int:
    return approx_tokens([ToolMessage(content=text, tool_call_id="t")])


def read_whole(read: Read, path: str) -> str:
    """Every page of ``path``, as consecutive Read calls return them."""
    pages, offset = [], 1
    while True:
        page = read.invoke({"file_path": path, "offset": offset})
        pages.append(page)
        more = _MORE.search(page)
        if not more:
            return "\n".join(pages)
        offset = int(more.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", default="claude_like")
    args = parser.parse_args()
    with LocalSandbox(REPO) as sandbox:
        ctx = ToolContext(sandbox, output_limit=10**8)
        outline = Outline(ctx=ctx).invoke({"path": args.folder})
        files = _FILE_HEAD.findall(outline)
        read = Read(ctx=ctx)
        reads = [read_whole(read, f) for f in files]
    read_tokens = sum(tokens(r) for r in reads)
    outline_tokens = tokens(outline)
    print(f"folder: {args.folder} ({len(files)} source files)")
    print(f"Read of every file:  {read_tokens:>8,} tokens  ({sum(map(len, reads)):,} chars)")
    print(f"Outline of folder:   {outline_tokens:>8,} tokens  ({len(outline):,} chars)")
    print(f"ratio Read/Outline:  {read_tokens / outline_tokens:8.1f}x "
          f"(the outline is {100 * outline_tokens / read_tokens:.1f}% of the reads)")


if __name__ == "__main__":
    main()
