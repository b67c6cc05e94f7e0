"""The token check in front of every endpoint but ``/health``, as ASGI middleware so that
it also covers unknown paths: a client without the token learns nothing, not even which
routes exist. The check itself is :mod:`claude_like.web.auth`'s."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from claude_like.serve.errors import error_response
from claude_like.web.auth import presented_token, token_ok

OPEN_PATHS = frozenset({"/health"})


class TokenGuard:
    """Refuse (401) HTTP requests without the right token, when a token is configured."""

    def __init__(self, app: ASGIApp, *, token: str | None,
                 open_paths: frozenset[str] = OPEN_PATHS) -> None:
        self.app = app
        self.token = token
        self.open_paths = open_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] != "http" or not self.token or scope["path"] in self.open_paths
                or token_ok(self.token, presented_token(Headers(scope=scope)))):
            await self.app(scope, receive, send)
            return
        response = error_response(401, "missing or wrong token: send it as 'Authorization: "
                                       "Bearer <token>' or 'x-api-key: <token>'",
                                  headers={"WWW-Authenticate": "Bearer"})
        await response(scope, receive, send)
