"""The session cookie's attributes and the anti-CSRF tokens, without a browser."""

from fastapi import Response

from app.core.config import Settings
from app.core.security import TokenClaims, decode_token_claims
from app.pages.session import (
    SESSION_COOKIE,
    csrf_token,
    csrf_valid,
    end_session,
    new_login_nonce,
    start_session,
)

KEY = "a-session-test-key-long-enough-for-hs256-0123456789"


def settings(environment: str) -> Settings:
    return Settings(environment=environment, secret_key=KEY, access_token_minutes=30)


def cookie_header(response: Response) -> str:
    (header,) = [
        value.decode()
        for name, value in response.raw_headers
        if name == b"set-cookie" and value.startswith(SESSION_COOKIE.encode())
    ]
    return header


def test_session_cookie_is_http_only_lax_and_expires_like_a_token() -> None:
    response = Response()
    start_session(response, settings("development"), 42, 3)
    header = cookie_header(response)
    assert "HttpOnly" in header and "SameSite=lax" in header and "Max-Age=1800" in header
    assert "Secure" not in header
    token = header.split(";")[0].split("=", 1)[1]
    assert decode_token_claims(token, KEY) == TokenClaims(user_id=42, generation=3)


def test_session_cookie_is_secure_in_production() -> None:
    response = Response()
    start_session(response, settings("production"), 42, 1)
    assert "Secure" in cookie_header(response)
    ended = Response()
    end_session(ended, settings("production"))
    assert "Max-Age=0" in cookie_header(ended) and "Secure" in cookie_header(ended)


def test_csrf_tokens_are_bound_to_their_value_and_purpose() -> None:
    config = settings("development")
    nonce, token = new_login_nonce(config)
    assert csrf_valid(config, "login", nonce, token)
    assert not csrf_valid(config, "login", nonce + "x", token)
    assert not csrf_valid(config, "logout", nonce, token)
    assert not csrf_valid(config, "login", None, token)
    assert not csrf_valid(config, "login", nonce, "")
    other_key = Settings(environment="development", secret_key=KEY[::-1])
    assert csrf_token(other_key, "login", nonce) != token
