"""Login, logout and who-am-I for the app."""

from django.http import HttpRequest
from ninja import Router, Status

from accounts.services import token_issue, token_revoke
from mobile_api.auth import token_auth, user_auth
from mobile_api.schemas.accounts import MeOut, TokenIn, TokenOut
from mobile_api.schemas.common import ErrorOut

router = Router(tags=["账号"])


@router.post(
    "/auth/token", response={200: TokenOut, 401: ErrorOut, 422: ErrorOut, 429: ErrorOut}, auth=None
)
def login(request: HttpRequest, payload: TokenIn):
    """Exchange username and password for a bearer token with an expiry."""
    issued = token_issue(
        request=request,
        username=payload.username,
        password=payload.password,
        device_name=payload.device_name,
    )
    return {"token": issued.token, "expires_at": issued.expires_at}


@router.delete("/auth/token", response={204: None, 401: ErrorOut}, auth=token_auth)
def logout(request: HttpRequest):
    """Revoke the token this request carries."""
    raw = request.headers.get("Authorization", "").partition(" ")[2].strip()
    token_revoke(raw=raw)
    return Status(204, None)


@router.get("/me", response={200: MeOut, 401: ErrorOut}, auth=user_auth)
def me(request: HttpRequest):
    user = request.user
    region = user.region
    return {
        "id": user.pk,
        "username": user.username,
        "name": user.get_full_name() or user.username,
        "role": user.role,
        "role_label": user.get_role_display(),
        "region": region and {"code": region.code, "name": region.name, "level": region.level},
        "unit": user.unit_id and {"id": user.unit_id, "name": user.unit.name},
        "helper_id": user.helper_id,
    }
