"""The dependencies every router uses: the settings and the authenticated caller.

They live in core, below every domain, so that any domain's router may use them (the
centres router too, which the users domain itself depends on). Who the token names is
answered by the users domain through `request.app.state.load_actor`, which
`app.main.create_app` sets: core knows no domain.
"""

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.db import SessionDep
from app.core.errors import Unauthorized
from app.core.scope import Actor
from app.core.security import TokenClaims, decode_token_claims

ActorLoader = Callable[[AsyncSession, TokenClaims], Awaitable[Actor | None]]
"""The active user a token names, as an `Actor`, or None when unknown, inactive, or when
the token's password generation is not the user's current one (the password changed or the
user was deactivated since the token was issued)."""

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


async def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


async def current_user(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    token: Annotated[str | None, Depends(oauth2_scheme)],
) -> Actor:
    if not token:
        raise Unauthorized()
    claims = decode_token_claims(token, settings.signing_key)
    if claims is None:
        raise Unauthorized("The token is invalid or has expired.")
    load_actor: ActorLoader = request.app.state.load_actor
    actor = await load_actor(session, claims)
    if actor is None:
        raise Unauthorized(
            "The token has ended (password changed, or user inactive or gone); log in again."
        )
    return actor


CurrentUser = Annotated[Actor, Depends(current_user)]
