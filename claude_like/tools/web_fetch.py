"""WebFetch: a web page as Markdown, fetched on the host within a :class:`FetchPolicy`.

Off by default: ``make_tools(ToolContext(sandbox, web=FetchPolicy(allowed_domains=(...))),
extra=("WebFetch",))``, or ``WebFetch(policy=...)`` among an agent's ``extra_tools`` (it
needs no sandbox). HTML becomes Markdown (markdownify, scripts, styles and navigation
dropped); text types come as they are. The result fits the output limit: a long page is
cut, or, when the model says what it looks for (``prompt``), the paragraphs that share
the most words with it are kept, in page order. Claude Code runs a small model over the
page for the prompt; a local agent has no second model to spare, so this is a word match.
"""

from __future__ import annotations

import re
from typing import Any

from langchain_core.tools import ToolException
from pydantic import BaseModel, Field

from claude_like.sandbox.base import DEFAULT_OUTPUT_LIMIT
from claude_like.tools.base import ClaudeLikeTool, ToolContext, ToolInput
from claude_like.tools.text_codec import is_binary
from claude_like.tools.web_client import Fetched, FetchError, fetch
from claude_like.tools.web_policy import FetchPolicy

_DROPPED_TAGS = ("script", "style", "noscript", "template", "svg", "canvas", "iframe", "head",
                 "nav", "footer", "form")
_TEXT_TYPES = ("text/", "application/json", "application/xml", "application/javascript",
               "application/x-yaml", "application/yaml")
_WORD = re.compile(r"[a-z0-9_]{3,}")
_BLANK_LINES = re.compile(r"\n\s*\n(\s*\n)+")


class WebFetchInput(ToolInput):
    url: str = Field(description="The http(s) URL. Example: https://docs.python.org/3/")
    prompt: str = Field(default="", description="What you look for; on a long page the "
                                                "parts that match it are kept.")


class WebFetch(ClaudeLikeTool):
    """Reads the web for the model, never the host's own network (see web_policy)."""

    name: str = "WebFetch"
    description: str = "Fetch a web page (http/https) and return it as Markdown."
    args_schema: type[BaseModel] = WebFetchInput
    read_only = True

    ctx: ToolContext | None = None  # type: ignore[assignment]  # needs no sandbox
    policy: FetchPolicy | None = None
    """Overrides ``ctx.web``; without either, every fetch is refused."""

    def model_post_init(self, context: Any) -> None:
        super().model_post_init(context)
        policy = self.active_policy
        if policy is not None and "Allowed domains" not in self.description:
            domains = ", ".join(policy.allowed_domains) or "none"
            self.description += f" Allowed domains: {domains}."

    @property
    def active_policy(self) -> FetchPolicy | None:
        return self.policy or (self.ctx.web if self.ctx is not None else None)

    def _execute(self, url: str, prompt: str = "") -> str:
        policy = self.active_policy
        if policy is None or not policy.allowed_domains:
            raise ToolException("WebFetch is not enabled here (no domain is allowed). Tell "
                                "the user what you wanted to fetch and why.")
        try:
            page = fetch(url, policy)
        except FetchError as exc:
            raise ToolException(str(exc)) from exc
        title, text = page_text(page)
        limit = self.ctx.output_limit if self.ctx is not None else DEFAULT_OUTPUT_LIMIT
        head = (f"# {title}\n" if title else "") + f"URL: {page.url}\n\n"
        return head + fit(text, prompt, max(limit - len(head) - 300, 1000))


def page_text(page: Fetched) -> tuple[str, str]:
    """(title, Markdown) of an HTML page; ("", text) of other text; FetchError otherwise."""
    kind = page.content_type.lower()
    sniffed = page.data[:512].lstrip().lower()
    if "html" in kind or (not kind and sniffed.startswith((b"<!doctype html", b"<html"))):
        return html_to_markdown(page.data, page.charset)
    if kind and not kind.startswith(_TEXT_TYPES) and not kind.endswith(("+json", "+xml")):
        raise ToolException(f"{page.url} is {kind}, not text or HTML; WebFetch shows only "
                            "text.")
    if is_binary(page.data):
        raise ToolException(f"{page.url} is binary data, not text; WebFetch shows only text.")
    return "", page.data.decode(page.charset or "utf-8", "replace").strip()


def html_to_markdown(data: bytes, charset: str | None = None) -> tuple[str, str]:
    from bs4 import BeautifulSoup  # imported on first use: ~0.1 s off every start
    from markdownify import MarkdownConverter

    soup = BeautifulSoup(data, "html.parser", from_encoding=charset)
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    for tag in soup(_DROPPED_TAGS):
        tag.decompose()
    text = MarkdownConverter(heading_style="ATX", bullets="-").convert_soup(soup)
    return title, _BLANK_LINES.sub("\n\n", text).strip()


def fit(text: str, prompt: str, budget: int) -> str:
    """``text`` whole if it fits; else the paragraphs most related to ``prompt`` (page
    order kept), or without a prompt the beginning; with a note saying which."""
    if len(text) <= budget:
        return text
    words = set(_WORD.findall(prompt.lower()))
    if not words:
        cut = text.rfind("\n", 0, budget)
        cut = cut if cut > budget // 2 else budget
        return (text[:cut] + f"\n\n[Page cut at {cut:,} of {len(text):,} characters. Call "
                "WebFetch again with a prompt naming what you look for to get the parts "
                "that match it.]")
    paragraphs = [p for p in text.split("\n\n") if p.strip()]
    scores = [sum(w in words for w in _WORD.findall(p.lower())) for p in paragraphs]
    ranked = sorted(range(len(paragraphs)), key=lambda i: (-scores[i], i))
    chosen, used = set(), 0
    for i in ranked:
        if scores[i] == 0 and chosen:
            break
        size = min(len(paragraphs[i]), budget) + 2
        if used + size > budget:
            continue
        chosen.add(i)
        used += size
    kept = [paragraphs[i][:budget] for i in sorted(chosen)]
    return ("\n\n".join(kept) + f"\n\n[The page has {len(text):,} characters; showing the "
            f"{len(kept)} of {len(paragraphs)} paragraphs that best match the prompt.]")
