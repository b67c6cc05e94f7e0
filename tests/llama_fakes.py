"""A stand-in ``llama-server`` executable for the lifecycle and crash-fallback tests.

A Python script that serves ``/health`` (503 first, as while loading) and ``/completion``,
and can crash the way the AMX build did, chosen by ``FAKE_LLAMA_MODE``:

- ``ok``: works.
- ``amx-load``: without ``--no-repack``, logs ggml's AMX buffer lines and dies of SIGSEGV
  while loading.
- ``amx-generate``: loads, then dies of SIGSEGV in the first generation unless
  ``--no-repack``.
- ``segv-always``: dies of SIGSEGV while loading whatever the arguments.
- ``sigill``: dies of SIGILL at once (a binary built for another CPU).
- ``error``: exits with code 3 and "cannot load model".
Every start appends one line to ``$FAKE_LLAMA_LAUNCHES`` (when set) with its arguments.
"""

from __future__ import annotations

import stat
import sys
import textwrap
from pathlib import Path

FAKE_SERVER = textwrap.dedent(
    """\
    #!{python}
    import json, os, signal, sys, time
    from http.server import BaseHTTPRequestHandler, HTTPServer
    args = sys.argv[1:]
    mode = os.environ.get("FAKE_LLAMA_MODE", "ok")
    if os.environ.get("FAKE_LLAMA_LAUNCHES"):
        with open(os.environ["FAKE_LLAMA_LAUNCHES"], "a") as f:
            f.write(" ".join(args) + "\\n")
    port = int(args[args.index("--port") + 1])
    repack = "--no-repack" not in args
    print("load_tensors: loading model tensors", flush=True)
    if mode == "error":
        print("error: cannot load model", flush=True)
        sys.exit(3)
    if mode == "sigill":
        os.kill(os.getpid(), signal.SIGILL)
    if (mode == "amx-load" and repack) or mode == "segv-always":
        print("load_tensors:          AMX model buffer size =    27.00 MiB", flush=True)
        print("common_init_from_params: warming up the model", flush=True)
        os.kill(os.getpid(), signal.SIGSEGV)
    started = time.monotonic()
    class H(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass
        def _send(self, code, body):
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        def do_GET(self):
            loading = time.monotonic() - started < 0.5
            code = 503 if loading and self.path == "/health" else 200
            self._send(code, {{"status": "ok", "argv": args}})
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if mode == "amx-generate" and repack:
                print("ggml_backend_amx_mul_mat: computing", flush=True)
                os.kill(os.getpid(), signal.SIGSEGV)
            n = body.get("n_predict", 1)
            self._send(200, {{"content": "x" * n, "tokens_predicted": n}})
    HTTPServer(("127.0.0.1", port), H).serve_forever()
    """
)


def write_fake_llama_server(path: Path) -> Path:
    """Write the stand-in to ``path`` (executable) and return it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(FAKE_SERVER.format(python=sys.executable))
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path
