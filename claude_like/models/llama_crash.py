"""Say what a llama-server exit means: the signal, the log's last lines, the likely cause.

"exited with -11" tells a user nothing; "killed by SIGSEGV in ggml's AMX kernels, retried
with --no-repack" tells them what happened and what was done about it.
"""

from __future__ import annotations

import signal
from dataclasses import dataclass

#: The flag that keeps ggml's repacked-weight buffers (and with them the AMX kernels) out.
NO_REPACK = "--no-repack"
#: Signals that mean "the process itself crashed" (worth a retry with a safer setting).
CRASH_SIGNALS = frozenset({signal.SIGSEGV, signal.SIGILL, signal.SIGBUS, signal.SIGABRT,
                           signal.SIGFPE})


@dataclass(frozen=True)
class ServerExit:
    """How a llama-server process ended, in words."""

    returncode: int
    #: The signal that ended it (also from a wrapper shell's 128+N exit code), or None.
    signal: signal.Signals | None
    #: The end of its log.
    log_tail: str

    @property
    def crashed(self) -> bool:
        """Killed by a crash signal (not a clean error exit, not killed from outside)."""
        return self.signal in CRASH_SIGNALS

    def what(self) -> str:
        """``"crashed with SIGSEGV (signal 11)"`` or ``"exited with code 1"``."""
        if self.signal is not None:
            verb = "crashed" if self.crashed else "was killed"
            return f"{verb} with {self.signal.name} (signal {int(self.signal)})"
        return f"exited with code {self.returncode}"

    def likely_cause(self) -> str:
        """Our best reading of the signal and the log."""
        log = self.log_tail.lower()
        sig = self.signal
        if sig == signal.SIGILL:
            return ("the binary uses CPU instructions this machine lacks (built on or for "
                    "another CPU); rebuild it here: python -m claude_like.models.embedded "
                    "--ensure --rebuild")
        if sig in (signal.SIGSEGV, signal.SIGABRT, signal.SIGBUS) and "amx" in log:
            return (f"a crash in ggml's AMX matrix kernels (Intel CPUs with AMX), which run "
                    f"on repacked weights; {NO_REPACK} keeps them out")
        if sig == signal.SIGSEGV:
            return (f"a crash inside llama.cpp's CPU kernels, most often the repacked-weight "
                    f"path of a CPU-specific build; {NO_REPACK} or a build with the safe "
                    f"profile avoids it")
        if sig == signal.SIGKILL:
            return "killed from outside, most often by the out-of-memory killer: a smaller " \
                   "model or context size (-c) needs less memory"
        if sig == signal.SIGBUS:
            return "the memory-mapped model file changed or is truncated"
        if "address already in use" in log:
            return "the port is taken by another process"
        if "failed to load model" in log or "error loading model" in log:
            return "the model file could not be loaded (wrong path, not a GGUF, or corrupt)"
        if "invalid argument" in log or "unknown argument" in log:
            return "this llama-server does not know one of the arguments (an older build?)"
        return "see the log lines above"


def server_exit(returncode: int, log_tail: str) -> ServerExit:
    """Decode ``Popen.returncode`` (negative: a signal; 129-159 from a shell wrapper)."""
    sig: signal.Signals | None = None
    number = -returncode if returncode < 0 else returncode - 128 if 128 < returncode < 160 \
        else None
    if number is not None:
        try:
            sig = signal.Signals(number)
        except ValueError:
            sig = None
    return ServerExit(returncode=returncode, signal=sig, log_tail=log_tail)
