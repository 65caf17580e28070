"""The pages' session cookie and anti-CSRF tokens.

The session cookie holds the same signed, expiring access token as the API's bearer
token (`app.core.security`), so a page session lasts exactly as long as a token; it is
HttpOnly, SameSite=Lax and, in production, Secure. Forms carry an anti-CSRF token: for the
login form, an HMAC of a random nonce kept in its own short-lived cookie (double submit,
signed so that a planted cookie is useless without the key); for the logout form, an HMAC
of the session token itself.
"""

import hashlib
import hmac
import secrets

from fastapi import Request, Response

from app.core.config import Settings
from app.core.security import TokenClaims, create_access_token, decode_token_claims

SESSION_COOKIE = "tracker_session"
LOGIN_NONCE_COOKIE = "tracker_login_nonce"
LOGIN_NONCE_SECONDS = 30 * 60


def csrf_token(settings: Settings, purpose: str, value: str) -> str:
    message = f"{purpose}:{value}".encode()
    return hmac.new(settings.signing_key.encode(), message, hashlib.sha256).hexdigest()


def csrf_valid(settings: Settings, purpose: str, value: str | None, submitted: str | None) -> bool:
    if not value or not submitted:
        return False
    return hmac.compare_digest(csrf_token(settings, purpose, value), submitted)


def new_login_nonce(settings: Settings) -> tuple[str, str]:
    """A fresh nonce for the login form, and the form's token for it."""
    nonce = secrets.token_urlsafe(32)
    return nonce, csrf_token(settings, "login", nonce)


def set_login_nonce(response: Response, settings: Settings, nonce: str) -> None:
    response.set_cookie(
        LOGIN_NONCE_COOKIE,
        nonce,
        max_age=LOGIN_NONCE_SECONDS,
        path="/login",
        httponly=True,
        samesite="strict",
        secure=settings.environment == "production",
    )


def start_session(response: Response, settings: Settings, user_id: int, generation: int) -> None:
    """The session cookie: a signed token like the API's, carrying the password generation,
    so that a password change or a deactivation ends the page session too."""
    token, expires_in = create_access_token(
        user_id, settings.signing_key, settings.access_token_minutes, generation
    )
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=expires_in,
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.environment == "production",
    )
    response.delete_cookie(LOGIN_NONCE_COOKIE, path="/login")


def end_session(response: Response, settings: Settings) -> None:
    response.delete_cookie(
        SESSION_COOKIE,
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.environment == "production",
    )


def session_claims(request: Request, settings: Settings) -> TokenClaims | None:
    """The claims of a valid, unexpired session cookie; None otherwise."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    return decode_token_claims(token, settings.signing_key)


def logout_token(request: Request, settings: Settings) -> str:
    return csrf_token(settings, "logout", request.cookies.get(SESSION_COOKIE, ""))
