"""Bearer-token authentication for the app, and the session for the web pages."""

from django.conf import settings
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

    def __call__(self, request: HttpRequest):
        # A caller that presents a bearer token is the app: the token alone decides. Falling
        # through to the session would answer a write carrying an expired token with the
        # session's CSRF 403 ("refresh the page") instead of 401 ("log in again"). Without a
        # session cookie there is no session to check either.
        if request.headers.get("Authorization", "").lower().startswith("bearer "):
            return None
        if settings.SESSION_COOKIE_NAME not in request.COOKIES:
            return None
        return super().__call__(request)

    def authenticate(self, request: HttpRequest, key):
        user = super().authenticate(request, key)
        return user if user is not None and user.is_authenticated else None


token_auth = TokenAuth()
session_auth = StaffSessionAuth()
# Endpoints for logged-in users accept either.
user_auth = [token_auth, session_auth]
