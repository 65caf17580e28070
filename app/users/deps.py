"""Authentication dependencies every router uses."""

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from app.core.config import Settings
from app.core.db import SessionDep
from app.core.errors import Unauthorized
from app.core.scope import Actor
from app.core.security import decode_access_token
from app.users.service import active_user, actor_of

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


async def current_user(
    session: SessionDep,
    settings: SettingsDep,
    token: Annotated[str | None, Depends(oauth2_scheme)],
) -> Actor:
    if not token:
        raise Unauthorized()
    claims = decode_access_token(token, settings.signing_key)
    if claims is None:
        raise Unauthorized("The token is invalid or has expired.")
    user = await active_user(session, claims.user_id)
    if user is None:
        raise Unauthorized("The token's user no longer exists or is inactive.")
    if user.password_generation != claims.generation:
        raise Unauthorized("The token has ended: the password was changed; log in again.")
    return actor_of(user)


CurrentUser = Annotated[Actor, Depends(current_user)]
