"""``POST /_emulator/oauth2/token``: a minimal OAuth 2.0 token endpoint for service-account keys.

A service-account key JSON whose ``token_uri`` points here makes ``google.oauth2.service_account``
credentials work against the emulator: google-auth posts a JWT-bearer grant (RFC 7523) and gets
an access token the Vertex routes accept. The assertion's claims are checked (issuer, audience =
Google's token URI, as google-auth always sets it, or this URL; expiry; scope); its signature is
not, since the emulator has no key registry.
"""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from gemini_tuning.emulator.deps import ISSUED_PREFIX, get_state

router = APIRouter(prefix="/_emulator/oauth2")
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"  # google-auth's aud, whatever the key's token_uri
LIFETIME = 3600


class OAuthError(Exception):
    """An RFC 6749 error response: ``{"error", "error_description"}`` with HTTP 400."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error, self.description = error, description


def _claims(assertion: str) -> dict[str, Any]:
    """The JWT's payload (not verified: the emulator holds no public keys)."""
    parts = assertion.split(".")
    if len(parts) != 3:
        raise OAuthError("invalid_grant", "The assertion is not a JWT (header.payload.signature).")
    try:
        payload = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))
        claims = json.loads(payload)
    except ValueError:
        raise OAuthError("invalid_grant", "The JWT payload is not base64url-encoded JSON.") from None
    if not isinstance(claims, dict):
        raise OAuthError("invalid_grant", "The JWT payload must be a JSON object.")
    return claims


def _check(claims: dict[str, Any], token_url: str, now: float) -> None:
    if not claims.get("iss"):
        raise OAuthError("invalid_grant", "The JWT has no iss claim (the service account email).")
    audiences = (GOOGLE_TOKEN_URI, token_url)
    if claims.get("aud") not in audiences:
        raise OAuthError("invalid_grant", f"Invalid JWT: aud must be one of {audiences}, got {claims.get('aud')!r}.")
    if not isinstance(claims.get("exp"), (int, float)) or claims["exp"] < now:
        raise OAuthError(
            "invalid_grant", "Invalid JWT: Token must be a short-lived token and in a reasonable timeframe."
        )
    if not claims.get("scope"):
        raise OAuthError("invalid_scope", "Invalid OAuth scope or ID token audience provided: the JWT has no scope.")


@router.post("/token")
async def token(request: Request):
    state = get_state(request)
    form = {k: v[0] for k, v in parse_qs((await request.body()).decode(errors="replace")).items()}
    try:
        if form.get("grant_type") != JWT_BEARER:
            raise OAuthError("unsupported_grant_type", f"Only grant_type={JWT_BEARER} is supported.")
        claims = _claims(form.get("assertion", ""))
        now = state.now()
        _check(claims, f"{request.url.scheme}://{request.url.netloc}{request.url.path}", now)
    except OAuthError as exc:
        return JSONResponse({"error": exc.error, "error_description": exc.description}, status_code=400)
    access_token = ISSUED_PREFIX + state.random_id(32)
    with state.lock:
        state.tokens[access_token] = {"sub": claims["iss"], "scope": claims["scope"], "expires": now + LIFETIME}
        state.tokens_issued += 1
    return {"access_token": access_token, "expires_in": LIFETIME, "token_type": "Bearer"}
