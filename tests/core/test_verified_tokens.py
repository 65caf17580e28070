"""Verified tokens are remembered per worker; what that must not change."""

import time

import jwt
import pytest

from app.core import security
from app.core.security import TokenClaims, create_access_token, decode_token_claims

KEY = "a-token-test-key-long-enough-for-hs256-0123456789abcd"


@pytest.fixture(autouse=True)
def no_remembered_tokens() -> None:
    security._verified_tokens.clear()


def expiry_of(token: str) -> int:
    return int(jwt.decode(token, options={"verify_signature": False})["exp"])


def test_a_remembered_token_still_ends_at_its_expiry() -> None:
    token, _ = create_access_token(7, KEY, minutes=5, generation=2)
    assert decode_token_claims(token, KEY) == TokenClaims(user_id=7, generation=2)
    assert (token, KEY) in security._verified_tokens
    expires_at = expiry_of(token)
    assert decode_token_claims(token, KEY, now=expires_at - 1) == TokenClaims(7, 2)
    # PyJWT refuses a token from its expiry second on; so does the remembered one.
    assert decode_token_claims(token, KEY, now=expires_at) is None
    assert (token, KEY) not in security._verified_tokens
    assert decode_token_claims(token, KEY) is not None  # verified again while still valid


def test_an_expired_token_is_refused_and_not_remembered() -> None:
    claims = {"sub": "7", "gen": 1, "exp": int(time.time()) - 1}
    token = jwt.encode(claims, KEY, algorithm="HS256")
    assert decode_token_claims(token, KEY) is None
    assert security._verified_tokens == {}


def test_a_remembered_token_is_not_valid_under_another_key_nor_once_altered() -> None:
    token, _ = create_access_token(7, KEY, minutes=5)
    assert decode_token_claims(token, KEY) is not None
    assert decode_token_claims(token, KEY[::-1]) is None
    header, _payload, signature = token.split(".")
    forged_payload = jwt.utils.base64url_encode(b'{"sub":"1","gen":1,"exp":9999999999}').decode()
    assert decode_token_claims(f"{header}.{forged_payload}.{signature}", KEY) is None
    assert decode_token_claims(token[:-2], KEY) is None
    assert list(security._verified_tokens) == [(token, KEY)]


def test_at_most_the_bound_is_remembered_the_oldest_forgotten_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(security, "VERIFIED_TOKENS_KEPT", 3)
    tokens = [create_access_token(user, KEY, minutes=5)[0] for user in range(1, 6)]
    for user, token in enumerate(tokens, start=1):
        assert decode_token_claims(token, KEY) == TokenClaims(user, 1)
    assert [token for token, _ in security._verified_tokens] == tokens[2:]
