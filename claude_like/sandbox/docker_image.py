"""The sandbox image and the Docker engine: what we expect, how to get it, clear errors.

The library pins the image it was written against (``DEFAULT_IMAGE``); ``sandbox/build.sh``
builds it with no image registry (a debootstrap base). Errors name the exact command to run.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from claude_like.sandbox.base import SandboxError
from claude_like.setup_output import SetupStepFailed, cache_root, log, run_logged

if TYPE_CHECKING:
    import docker

DEFAULT_IMAGE = "claude-like-sandbox:0.1"
"""The image ``sandbox/build.sh`` builds (its ``IMAGE`` default; a test keeps them equal)."""

LABEL = "claude-like"
"""Every container we create carries ``claude-like=1`` so leaks can be found and cleaned."""

BUILD_SCRIPT = Path(__file__).resolve().parents[2] / "sandbox" / "build.sh"
"""The build script in a source checkout (not shipped inside the wheel)."""


class DockerUnavailableError(SandboxError):
    """The Docker engine does not answer (not installed, not started, no permission)."""


class ImageMissingError(SandboxError):
    """The sandbox image is not in the engine's image store."""


def build_command(image: str = DEFAULT_IMAGE) -> str:
    """The shell command that builds ``image``, for error messages and docs."""
    script = BUILD_SCRIPT if BUILD_SCRIPT.exists() else Path("sandbox/build.sh")
    prefix = "" if image == DEFAULT_IMAGE else f"IMAGE={image} "
    return f"{prefix}bash {script}"


def connect() -> docker.DockerClient:
    """A client for the engine in the environment (DOCKER_HOST or the local socket)."""
    import docker
    from docker.errors import DockerException

    try:
        client = docker.from_env(timeout=120)
        client.ping()
    except DockerException as exc:
        raise DockerUnavailableError(
            f"the Docker engine is not reachable ({_short(exc)}). Start it: as root run "
            "`bash .ci/docker.sh` from the claude-like checkout (installs docker.io and "
            "starts dockerd), or `sudo dockerd &`, or `sudo systemctl start docker`; "
            "a non-root user needs to be in the `docker` group."
        ) from exc
    return client


def ensure_image(client: docker.DockerClient, image: str = DEFAULT_IMAGE) -> None:
    """Raise ImageMissingError, saying how to build it, when ``image`` is not present."""
    from docker.errors import ImageNotFound

    try:
        client.images.get(image)
    except ImageNotFound:
        raise ImageMissingError(
            f"the sandbox image {image} is not built. Build it (about 3 minutes, needs "
            f"debootstrap and Debian's package mirror): `{build_command(image)}`, or from "
            "Python: `claude_like.sandbox.docker_image.build_image()`."
        ) from None


def build_log_path() -> Path:
    """Where the last image build's whole output is kept (the terminal gets status lines)."""
    return cache_root() / "sandbox-image" / "build.log"


_BUILD_SH = "[build.sh] "
# Docker's own step counters: the classic builder's "Step 2/5 : RUN ...", BuildKit's
# "#7 [2/4] RUN ...".
_DOCKER_STEP = re.compile(r"^(?:Step (\d+/\d+) :|#\d+ \[(?:[\w-]+ )?(\d+/\d+)\])")


def _build_stage(line: str) -> str | None:
    """A stage of build.sh (debootstrap, docker import, docker build): its own line."""
    if not line.startswith(_BUILD_SH):
        return None
    return line[len(_BUILD_SH):].strip() or None


def _docker_step(line: str) -> str | None:
    """``step 2/5`` from a line of ``docker build``'s output."""
    found = _DOCKER_STEP.match(line)
    return f"step {found.group(1) or found.group(2)}" if found else None


def build_image(image: str = DEFAULT_IMAGE, *, force: bool = False, quiet: bool = False) -> None:
    """Build ``image`` with ``sandbox/build.sh`` (a no-op when it exists, unless ``force``).

    Needs root for debootstrap. The build's output goes to :func:`build_log_path`; stderr
    gets a line per stage (debootstrap, import, docker build) and every 30 s with the
    elapsed time (a live line in a terminal; none with ``quiet``), and a failure's error
    holds the log's last lines and its path.
    """
    if not BUILD_SCRIPT.exists():
        raise SandboxError(
            f"{BUILD_SCRIPT} is not here (an installed wheel does not carry it): build the "
            "image from a claude-like source checkout with `bash sandbox/build.sh`"
        )
    env = {**os.environ, "IMAGE": image}
    if force:
        env["FORCE"] = "1"
    log_file = build_log_path()
    log_file.parent.mkdir(parents=True, exist_ok=True)
    log_file.write_text("")
    if not quiet:
        log(f"building the sandbox image {image} (a few minutes the first time); "
            f"log: {log_file}")
    try:
        run_logged(["bash", str(BUILD_SCRIPT)], log_file, f"image {image}", env=env,
                   stage=_build_stage, progress=_docker_step, quiet=quiet)
    except SetupStepFailed as exc:
        raise SandboxError(f"building the sandbox image: {exc}") from None


def main(argv: list[str] | None = None) -> int:
    """``python -m claude_like.sandbox.docker_image [--force] [--image NAME:TAG]``."""
    import argparse

    ap = argparse.ArgumentParser(description="Build the claude-like sandbox image.")
    ap.add_argument("--image", default=DEFAULT_IMAGE)
    ap.add_argument("--force", action="store_true", help="rebuild even if it exists")
    args = ap.parse_args(argv)
    try:
        build_image(args.image, force=args.force)
    except SandboxError as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[-1][:200] if text else type(exc).__name__


if __name__ == "__main__":
    raise SystemExit(main())
