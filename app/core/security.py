"""Password hashing (argon2 through pwdlib) and signed access tokens (PyJWT)."""

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


def decode_token_claims(token: str, secret: str) -> TokenClaims | None:
    """The claims of a valid, unexpired token; None for anything else."""
    try:
        claims = jwt.decode(
            token, secret, algorithms=[ALGORITHM], options={"require": ["exp", "sub", "gen"]}
        )
        generation = claims["gen"]
        if not isinstance(generation, int) or isinstance(generation, bool):
            return None
        return TokenClaims(user_id=int(claims["sub"]), generation=generation)
    except (jwt.PyJWTError, KeyError, ValueError, TypeError):
        return None
