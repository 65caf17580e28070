"""Password hashing (argon2 through pwdlib) and signed access tokens (PyJWT)."""

import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from pwdlib import PasswordHash
from starlette.concurrency import run_in_threadpool

_hasher = PasswordHash.recommended()
ALGORITHM = "HS256"
MIN_PASSWORD_LENGTH = 10  # see app/users/passwords.py for the whole policy


def hash_password_sync(password: str) -> str:
    return _hasher.hash(password)


async def hash_password(password: str) -> str:
    """Argon2 is deliberately slow: run it off the event loop."""
    return await run_in_threadpool(_hasher.hash, password)


async def verify_password(password: str, password_hash: str) -> bool:
    return bool(await run_in_threadpool(_hasher.verify, password, password_hash))


@dataclass(frozen=True)
class TokenClaims:
    user_id: int
    generation: int
    """The user's password generation when the token was issued: a token whose generation
    is not the user's current one has ended (password changed, user deactivated)."""


def create_access_token(
    subject: int, secret: str, minutes: int, generation: int = 1
) -> tuple[str, int]:
    now = datetime.now(UTC)
    claims: dict[str, Any] = {
        "sub": str(subject),
        "gen": generation,
        "iat": now,
        "exp": now + timedelta(minutes=minutes),
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM), minutes * 60


def decode_access_token(token: str, secret: str) -> int | None:
    """The user id in a valid, unexpired token; None for anything else."""
    claims = decode_token_claims(token, secret)
    return claims.user_id if claims is not None else None


VERIFIED_TOKENS_KEPT = 4096
"""How many verified tokens a worker remembers (a few hundred bytes each)."""

_verified_tokens: dict[tuple[str, str], tuple[TokenClaims, float]] = {}
_verified_tokens_lock = threading.Lock()


def decode_token_claims(token: str, secret: str, now: float | None = None) -> TokenClaims | None:
    """The claims of a valid, unexpired token; None for anything else.

    A token is verified in full (signature, required claims, issue time, expiry) the first
    time a worker sees it; its claims and expiry are then kept, so that later requests with
    the same token only compare its expiry with the clock. Verifying took about 5 % of a
    loan read's CPU (docs/SCALING.md). Keeping them is safe: the claims of a given token
    string never change, and whether the token has ended (password changed, user
    deactivated) is still read from the database on every request (`load_actor`). Only
    valid tokens are kept, at most `VERIFIED_TOKENS_KEPT`, the oldest forgotten first.
    `now` (a POSIX timestamp) is the clock, for tests."""
    key = (token, secret)
    known = _verified_tokens.get(key)
    if known is not None:
        claims, expires_at = known
        if (time.time() if now is None else now) < expires_at:
            return claims
        _verified_tokens.pop(key, None)
        return None
    verified = _verify_token(token, secret)
    if verified is None:
        return None
    with _verified_tokens_lock:  # the eviction iterates: no insertion by a thread meanwhile
        if len(_verified_tokens) >= VERIFIED_TOKENS_KEPT:
            _verified_tokens.pop(next(iter(_verified_tokens)), None)
        _verified_tokens[key] = verified
    return verified[0]


def _verify_token(token: str, secret: str) -> tuple[TokenClaims, float] | None:
    """The claims and expiry (a POSIX timestamp; PyJWT refuses a token from that second
    on) of a token that PyJWT verifies in full; None for anything else."""
    try:
        claims = jwt.decode(
            token, secret, algorithms=[ALGORITHM], options={"require": ["exp", "sub", "gen"]}
        )
        generation = claims["gen"]
        if not isinstance(generation, int) or isinstance(generation, bool):
            return None
        return TokenClaims(user_id=int(claims["sub"]), generation=generation), int(claims["exp"])
    except (jwt.PyJWTError, KeyError, ValueError, TypeError):
        return None
