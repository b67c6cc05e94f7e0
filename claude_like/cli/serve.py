"""``claude-like serve``: the agent as an HTTP service (see :mod:`claude_like.serve`)."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from claude_like.cli.options import PermissionModeChoice
from claude_like.cli.render import err, safe
from claude_like.cli.service import HostOption, fail, model_spec, open_to

SandboxChoice = Enum("SandboxChoice", {"docker": "docker", "local": "local"},  # type: ignore[misc]
                     type=str)
TOKEN_ENV = "CLAUDE_LIKE_SERVE_TOKEN"


def serve(
    model: Annotated[
        str | None,
        typer.Option(help="Model spec for every session, e.g. ollama:qwen2.5-coder:7b; "
                     "default $CLAUDE_LIKE_MODEL."),
    ] = None,
    host: HostOption = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8765,
    token: Annotated[
        str | None,
        typer.Option(envvar=TOKEN_ENV, help="Token every request but /health must carry "
                     "(Authorization: Bearer or x-api-key); required off loopback."),
    ] = None,
    sandbox: Annotated[
        SandboxChoice, typer.Option(help="One sandbox per session: docker or local.")
    ] = SandboxChoice.docker,  # type: ignore[attr-defined]
    workspace_root: Annotated[
        Path | None,
        typer.Option(help="Folder holding one workspace folder per session "
                     "(default: workspaces/ beside the session store)."),
    ] = None,
    idle_seconds: Annotated[
        float, typer.Option(help="Close a session (and its sandbox) idle this long.")
    ] = 900.0,
    permission_mode: Annotated[
        PermissionModeChoice | None,
        typer.Option("--permission-mode", help="Sessions' mode unless a query sets one."),
    ] = None,
    max_body: Annotated[int, typer.Option(help="Largest request body, in bytes.")] = 1 << 20,
) -> None:
    """Serve the agent over HTTP: POST /query streams its events as SSE; sessions by id,
    approvals, cancel; one sandbox per session."""
    import uvicorn

    from claude_like.serve import ModelUnavailable, create_app
    from claude_like.sessions import default_store_path

    auth = open_to(host, token)
    spec = model_spec(model)
    root = workspace_root or default_store_path().parent / "workspaces"
    options = {"permission_mode": permission_mode.value} if permission_mode else {}
    try:
        app = create_app(model=spec, workspace_root=root, sandbox=sandbox.value, token=token,
                         idle_seconds=idle_seconds, max_body=max_body, agent_options=options)
    except (ModelUnavailable, ValueError, OSError) as exc:
        raise fail(str(exc)) from exc
    err.print(f"claude-like serve: http://{safe(host)}:{port}  model {safe(spec)}, "
              f"sandbox {sandbox.value}, workspaces in {safe(str(Path(root).resolve()))}, "
              f"{auth}", soft_wrap=True)
    # Open streams get a few seconds at shutdown; then their turns are cancelled and every
    # session closed (a turn may run for many minutes).
    uvicorn.run(app, host=host, port=port, log_level="info", timeout_graceful_shutdown=5)
