"""Websocket authentication by the app's bearer token (`?token=...`), beside the session."""

from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware


@database_sync_to_async
def _user_for_token(raw: str):
    from accounts.services import user_for_token

    return user_for_token(raw)


class TokenAuthMiddleware(BaseMiddleware):
    async def __call__(self, scope, receive, send):
        query = parse_qs(scope.get("query_string", b"").decode())
        raw = (query.get("token") or [""])[0]
        if raw:
            user = await _user_for_token(raw)
            if user is not None:
                scope["user"] = user
        return await super().__call__(scope, receive, send)
