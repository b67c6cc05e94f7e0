"""Building llama-server: chosen options, cache keys, quiet progress, and the fallback chain
(host build -> ``--no-repack`` -> safe build -> a clear error), with stand-in builds."""

from __future__ import annotations

import io
import json
import sys
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from llama_fakes import write_fake_llama_server

from claude_like.models import ModelUnavailableError
from claude_like.models import embedded as emb
from claude_like.models import llama_build as lb
from claude_like.models import llama_record as rec
from claude_like.models import llama_server as ls

XEON_FLAGS = ("sse4_2 avx avx2 bmi2 fma f16c avx512f avx512cd avx512vl avx512dq avx512bw "
              "avx512vbmi avx512_vnni avx512_bf16 avx_vnni amx_tile amx_int8 amx_bf16")
AMX_XEON = frozenset(XEON_FLAGS.split())
AVX2_ONLY = frozenset(["sse4_2", "avx", "avx2", "bmi2", "fma", "f16c"])


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CLAUDE_LIKE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty-path"))
    monkeypatch.delenv("LLAMA_SERVER", raising=False)
    monkeypatch.delenv("FAKE_LLAMA_MODE", raising=False)
    return tmp_path / "cache"


def test_amx_is_never_built_even_on_an_amx_cpu() -> None:
    for profile in lb.PROFILES:
        options = lb.build_options(profile, flags=AMX_XEON, machine="x86_64")
        assert options["GGML_NATIVE"] == "OFF"  # -march=native would bring AMX back
        assert options["GGML_AMX_TILE"] == options["GGML_AMX_INT8"] == "OFF"
        assert options["GGML_AMX_BF16"] == "OFF"
        assert options["LLAMA_BUILD_UI"] == options["LLAMA_USE_PREBUILT_UI"] == "OFF"


def test_host_profile_follows_the_cpu() -> None:
    xeon = lb.build_options("host", flags=AMX_XEON, machine="x86_64")
    assert xeon["GGML_AVX512"] == xeon["GGML_AVX512_VNNI"] == xeon["GGML_AVX_VNNI"] == "ON"
    amd = lb.build_options("host", flags=AVX2_ONLY, machine="x86_64")
    assert amd["GGML_AVX2"] == "ON" and amd["GGML_AVX512"] == "OFF"
    assert "GGML_CPU_REPACK" not in amd  # llama.cpp's default (on)
    arm = lb.build_options("host", flags=frozenset({"asimd"}), machine="aarch64")
    assert arm["GGML_NATIVE"] == "ON" and "GGML_AMX_INT8" not in arm


def test_safe_profile_is_portable() -> None:
    safe = lb.build_options("safe", flags=AMX_XEON, machine="x86_64")
    assert safe["GGML_AVX2"] == "ON" and safe["GGML_AVX512"] == "OFF"
    assert safe["GGML_CPU_REPACK"] == "OFF"
    old = lb.build_options("safe", flags=frozenset({"sse4_2"}), machine="x86_64")
    assert all(old[o] == "OFF" for o in ("GGML_AVX", "GGML_AVX2", "GGML_SSE42"))
    with pytest.raises(ValueError, match="unknown build profile"):
        lb.build_options("fast")  # type: ignore[arg-type]


def test_cache_key_holds_version_profile_and_options() -> None:
    host = lb.build_options("host", flags=AMX_XEON, machine="x86_64")
    other = lb.build_options("host", flags=AVX2_ONLY, machine="x86_64")
    key = lb.build_key("11434.0.0", "host", host)
    assert key.startswith("11434.0.0-host-")
    assert key != lb.build_key("11434.0.0", "host", other)
    assert key != lb.build_key("11434.0.0", "safe", host)
    assert lb.cache_dir("1.2.3", "safe").name.startswith("1.2.3-safe-")


def test_old_layout_and_other_builds_are_not_picked(isolated_cache: Path) -> None:
    # The pre-fix cache folder (a native build keyed by version only) holds the crasher.
    old = write_fake_llama_server(isolated_cache / "llama-server" / lb.LLAMA_CPP_VERSION
                                  / "llama-server")
    assert old.is_file() and ls.find_llama_server() is None
    cached = write_fake_llama_server(lb.cache_dir() / "llama-server")
    assert ls.find_llama_server() == cached
    assert emb.main(["--find"]) == 0


def test_find_prefers_env_then_path_then_cache(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    cached = write_fake_llama_server(lb.cache_dir("9.9.9", "safe") / "llama-server")
    assert ls.find_llama_server("9.9.9") == cached
    on_path = write_fake_llama_server(tmp_path / "bin" / "llama-server")
    monkeypatch.setenv("PATH", str(on_path.parent))
    assert ls.find_llama_server("9.9.9") == on_path
    env = write_fake_llama_server(tmp_path / "env" / "llama-server")
    monkeypatch.setenv("LLAMA_SERVER", str(env))
    assert ls.find_llama_server("9.9.9") == env


def test_cache_root_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("CLAUDE_LIKE_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert lb.cache_dir("1.2.3").parent == tmp_path / "claude-like" / "llama-server"


def test_build_needs_a_compiler(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lb.shutil, "which", lambda _name: None)
    with pytest.raises(RuntimeError, match="apt-get install"):
        lb.build_llama_server()


def test_a_long_step_prints_status_lines_not_compiler_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log_file = tmp_path / "build.log"
    script = ("import time\nfor i in (1, 2, 3):\n"
              "    print(f'[ 4{i}%] Building CXX object f{i}.o', flush=True)\n"
              "    time.sleep(0.4)\n")
    lb._run_logged([sys.executable, "-c", script], log_file, "compile", every=0.5)
    err = capsys.readouterr().err
    assert "Building CXX" not in err  # the compiler's lines stay in the log
    assert "compile: 4" in err and "s elapsed" in err and "compile: done in" in err
    assert "Building CXX object f3.o" in log_file.read_text()


def test_a_failed_step_shows_the_tail_and_the_log_path(tmp_path: Path) -> None:
    log_file = tmp_path / "build.log"
    with pytest.raises(RuntimeError) as err:
        lb._run_logged([sys.executable, "-c", "print('error: no such file'); exit(2)"],
                       log_file, "compile")
    assert "compile failed (exit 2)" in str(err.value)
    assert "error: no such file" in str(err.value)
    assert f"full log: {log_file}" in str(err.value)


def _fake_sdist(path: Path) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in [("pkg/llama.cpp/tools/server/CMakeLists.txt", b""),
                           ("pkg/llama.cpp/models/templates/T.jinja", b"{{ x }}")]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_build_configures_the_chosen_options_and_caches_by_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    commands: list[list[str]] = []

    def fake_step(cmd: list[str], log_file: Path, what: str, *, every: float = 30) -> None:
        commands.append(cmd)
        if "--build" in cmd:
            write_fake_llama_server(Path(cmd[cmd.index("--build") + 1]) / "bin" / "llama-server")

    monkeypatch.setattr(lb.shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(lb, "_run_logged", fake_step)
    binary = lb.build_llama_server("1.0.0", "safe", sdist=_fake_sdist(tmp_path / "s.tar.gz"))
    assert binary == lb.cache_dir("1.0.0", "safe") / "llama-server" and binary.is_file()
    configure = commands[0]
    for option in ("-DGGML_NATIVE=OFF", "-DGGML_AMX_INT8=OFF", "-DLLAMA_BUILD_UI=OFF",
                   "-DLLAMA_USE_PREBUILT_UI=OFF", "-DGGML_CPU_REPACK=OFF"):
        assert option in configure
    assert commands[1][-4:-2] == ["--target", "llama-server"]
    assert json.loads((binary.parent / "build.log").read_text())["GGML_NATIVE"] == "OFF"
    assert lb.template_path("T.jinja", "1.0.0") == binary.parent / "templates" / "T.jinja"
    # Cached: a second call builds nothing.
    assert lb.build_llama_server("1.0.0", "safe") == binary and len(commands) == 2


@dataclass
class StandInBuilds:
    """Which crash mode each profile's build has (set by the test) and what was built."""

    modes: dict[str, str] = field(default_factory=dict)
    built: list[str] = field(default_factory=list)


@pytest.fixture
def builds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> StandInBuilds:
    """build_llama_server replaced: each profile's "build" is a stand-in binary (a wrapper
    that sets the profile's crash mode); the bundled GGUF is a stand-in file."""
    state = StandInBuilds()

    def fake_build(version: str = lb.LLAMA_CPP_VERSION, profile: lb.Profile = "host",
                   **_: object) -> Path:
        state.built.append(profile)
        dest = lb.cache_dir(version, profile)
        real = write_fake_llama_server(dest / "impl")
        wrapper = dest / "llama-server"
        wrapper.write_text(f"#!/bin/sh\nFAKE_LLAMA_MODE={state.modes.get(profile, 'ok')} "
                           f"exec {real} \"$@\"\n")
        wrapper.chmod(0o755)
        return wrapper

    gguf = tmp_path / "bundled.gguf"
    gguf.write_bytes(b"GGUF")
    monkeypatch.setattr(emb, "build_llama_server", fake_build)
    monkeypatch.setattr(emb, "bundled_gguf", lambda: gguf)
    return state


def test_ensure_builds_smoke_tests_and_uses_no_repack_when_needed(
    builds: StandInBuilds
) -> None:
    builds.modes["host"] = "amx-load"
    binary = emb.ensure_llama_server()
    assert binary == lb.cache_dir() / "llama-server"
    assert rec.verdict(binary) == rec.Verdict("ok", extra_args=["--no-repack"])
    assert builds.built == ["host"]
    # Cached and verified: nothing is built again.
    assert emb.ensure_llama_server() == binary
    assert builds.built == ["host"]


def test_ensure_falls_back_to_the_safe_build(builds: StandInBuilds,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    builds.modes["host"] = "segv-always"
    binary = emb.ensure_llama_server()
    assert binary == lb.cache_dir(profile="safe") / "llama-server"
    assert builds.built == ["host", "safe"]
    assert "building the safe profile instead" in capsys.readouterr().err
    assert ls.find_llama_server() == binary  # the broken host build is passed over


def test_ensure_says_what_to_do_when_nothing_runs(builds: StandInBuilds) -> None:
    builds.modes["host"] = builds.modes["safe"] = "segv-always"
    with pytest.raises(ModelUnavailableError) as err:
        emb.ensure_llama_server()
    assert "no llama-server build runs on this machine" in str(err.value)
    assert "LLAMA_SERVER=/path/to/llama-server" in str(err.value)
    assert "--rebuild --profile safe" in str(err.value)
    assert emb.main(["--ensure"]) == 1


def test_ensure_without_build_points_at_the_command() -> None:
    with pytest.raises(ModelUnavailableError, match="embedded --ensure"):
        emb.ensure_llama_server(build=False)
