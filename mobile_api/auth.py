"""Bearer-token authentication for the app, and the session for the web pages."""

from django.http import HttpRequest
from ninja.security import HttpBearer, SessionAuth

from accounts.services import user_for_token


class TokenAuth(HttpBearer):
    openapi_scheme = "bearer"

    def authenticate(self, request: HttpRequest, token: str):
        user = user_for_token(token)
        if user is not None:
            request.user = user
        return user


class StaffSessionAuth(SessionAuth):
    """The web pages' session, so offices can call the API from the browser too."""

    def authenticate(self, request: HttpRequest, key):
        user = super().authenticate(request, key)
        return user if user is not None and user.is_authenticated else None


token_auth = TokenAuth()
session_auth = StaffSessionAuth()
# Endpoints for logged-in users accept either.
user_auth = [token_auth, session_auth]
