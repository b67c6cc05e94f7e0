"""Latency of one sandboxed command: persistent shell vs ``docker exec`` vs ``docker run``.

    python bench/sandbox_latency.py [--runs 200] [--exec-runs 50] [--docker-runs 10]

Measures p50/p95 of a trivial command (``/bin/true``, a real process) and of a file read
(``cat`` of a 10 kB file in the workspace) through
  (a) DockerSandbox's persistent shell (one ``docker exec`` for the whole session),
  (b) one ``docker exec`` per command on a running container (mini-swe-agent's way),
  (c) one ``docker run --rm`` per command (the LangChain tutorial's way),
and prints them as a table with ratios to (a). Needs the engine and the sandbox image.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from claude_like.sandbox import DockerSandbox
from claude_like.sandbox.docker_image import DEFAULT_IMAGE, LABEL, connect, ensure_image

WARMUP = 3


def measure(fn: Callable[[], object], runs: int) -> list[float]:
    """Wall-clock milliseconds of ``runs`` calls, after a few unmeasured warm-up calls."""
    for _ in range(min(WARMUP, runs)):
        fn()
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def check(ok: bool, what: str) -> None:
    if not ok:
        raise SystemExit(f"benchmark sanity check failed: {what}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=200, help="samples for the persistent shell")
    ap.add_argument("--exec-runs", type=int, default=50, help="samples for docker exec")
    ap.add_argument("--docker-runs", type=int, default=10, help="samples for docker run")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON too")
    args = ap.parse_args()

    client = connect()
    ensure_image(client, DEFAULT_IMAGE)
    results: dict[str, dict[str, list[float]]] = {}
    with tempfile.TemporaryDirectory(prefix="claude-like-bench-") as tmp:
        ws = Path(tmp)
        ws.chmod(0o755)  # the peers' plain bind mounts run as the sandbox's uid too
        (ws / "data.txt").write_text(("0123456789" * 10 + "\n") * 100)  # ~10 kB
        with DockerSandbox(ws, client=client) as sb:
            check(sb.execute("cat data.txt").output.startswith("0123"), "shell cat")
            results["(a) persistent shell"] = {
                "true": measure(lambda: sb.execute("/bin/true"), args.runs),
                "cat": measure(lambda: sb.execute("cat data.txt"), args.runs),
            }
            c = sb.container

            def exec_run(cmd: str) -> None:
                res = c.exec_run(["bash", "-c", cmd], user=sb.user, workdir=sb.root)
                check(res.exit_code == 0, f"exec_run {cmd}")

            results["(b) docker exec per command"] = {
                "true": measure(lambda: exec_run("/bin/true"), args.exec_runs),
                "cat": measure(lambda: exec_run("cat data.txt"), args.exec_runs),
            }

            def docker_run(cmd: str) -> None:
                out = client.containers.run(
                    DEFAULT_IMAGE,
                    ["bash", "-c", cmd],
                    remove=True,
                    user=sb.user,
                    working_dir=sb.root,
                    network_mode="none",
                    labels={LABEL: "1"},
                    volumes={str(sb.host_dir): {"bind": sb.root, "mode": "rw"}},
                )
                check(isinstance(out, bytes), f"docker run {cmd}")

            results["(c) docker run per command"] = {
                "true": measure(lambda: docker_run("/bin/true"), args.docker_runs),
                "cat": measure(lambda: docker_run("cat data.txt"), args.docker_runs),
            }
            results["(host) read_bytes via bind mount"] = {
                "cat": measure(lambda: sb.read_bytes("data.txt"), args.runs),
            }

    base = {k: statistics.median(v) for k, v in results["(a) persistent shell"].items()}
    header = f"{'method':34} {'command':6} {'n':>4} {'p50 ms':>9} {'p95 ms':>9} {'p50 / (a)':>10}"
    print(header)
    print("-" * len(header))
    summary = {}
    for method, by_cmd in results.items():
        for cmd, values in by_cmd.items():
            p50, p95 = p(values, 0.5), p(values, 0.95)
            ratio = p50 / base[cmd]
            summary[f"{method} {cmd}"] = {"n": len(values), "p50_ms": p50, "p95_ms": p95}
            print(f"{method:34} {cmd:6} {len(values):>4} {p50:>9.2f} {p95:>9.2f} {ratio:>9.1f}x")
    for cmd in ("true", "cat"):
        speedup = statistics.median(results["(b) docker exec per command"][cmd]) / base[cmd]
        verdict = "meets" if speedup >= 5 else "MISSES"
        print(f"persistent shell vs docker exec ({cmd}): {speedup:.1f}x faster ({verdict} >= 5x)")
    if args.json:
        print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
