"""Shared fixtures for the Docker tests: an engine or a clear failure, and no leaked containers.

In CI (``CI=true``) a missing engine or image fails the tests; elsewhere they are skipped.
A test module loads them with ``pytest_plugins = ["docker_helpers"]`` (the plugin is then
global: the leak check covers every test of the session, the tool suites' Docker runs too).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from docker import DockerClient

from claude_like.sandbox import DockerSandbox, SandboxError
from claude_like.sandbox.docker_image import DEFAULT_IMAGE, LABEL, connect, ensure_image

IN_CI = os.environ.get("CI", "").lower() == "true"


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"Docker tests must run in CI: {reason}", pytrace=False)
    pytest.skip(reason)


def labelled_ids(client) -> set[str]:  # type: ignore[no-untyped-def]
    """Containers this test process made (other runs may share the engine meanwhile)."""
    mine = [f"{LABEL}=1", f"{LABEL}.pid={os.getpid()}"]
    # sparse: no inspect of each one, which fails for a container removed meanwhile
    return {c.id for c in client.containers.list(all=True, sparse=True,
                                                 filters={"label": mine})}


@pytest.fixture(scope="session")
def docker_client():  # type: ignore[no-untyped-def]
    """A client for a running engine that has the sandbox image."""
    try:
        client = connect()
        ensure_image(client, DEFAULT_IMAGE)
    except SandboxError as exc:
        _unavailable(str(exc))
    return client


@pytest.fixture(scope="session", autouse=True)
def no_leaked_containers() -> Iterator[None]:
    """After the whole session, no claude-like container made during it may remain."""
    try:
        client = connect()
        before = labelled_ids(client)
    except SandboxError:
        yield
        return
    yield
    leaked = labelled_ids(client) - before
    names = []
    for cid in leaked:  # clean up, then fail
        with contextlib.suppress(Exception):
            c = client.containers.get(cid)
            names.append(f"{c.name} ({c.status})")
            c.remove(force=True)
    assert not leaked, f"claude-like container(s) leaked by the tests: {names}"


_shared_client: DockerClient | None = None
"""One client for every sandbox the helper makes (a client holds a connection pool)."""


def docker_sandbox_for(workspace: Path) -> DockerSandbox:
    """A DockerSandbox on ``workspace``, or a CI failure / local skip when Docker is missing.

    For suites parametrized over sandboxes (``LocalSandbox`` and ``DockerSandbox``).
    """
    global _shared_client
    try:
        if _shared_client is None:
            _shared_client = connect()
        ensure_image(_shared_client, DEFAULT_IMAGE)
    except SandboxError as exc:
        _unavailable(str(exc))
    return DockerSandbox(workspace, client=_shared_client)


@pytest.fixture
def docker_sandbox(docker_client, workspace: Path) -> Iterator[DockerSandbox]:  # type: ignore[no-untyped-def]
    """A DockerSandbox on the ``workspace`` fixture (tests/conftest.py), closed afterwards."""
    sb = DockerSandbox(workspace, client=docker_client)
    try:
        yield sb
    finally:
        sb.close()
