from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request, Response, status
from fastapi.security import OAuth2PasswordRequestForm

from app.core.concurrency import set_etag
from app.core.db import SessionDep
from app.core.deps import CurrentUser, SettingsDep
from app.core.errors import Unauthorized
from app.core.openapi import CREATE, LIST, READ, UPDATE, errors
from app.core.pagination import Page, PageDep, page_of, sorting
from app.core.params import PathId
from app.core.security import create_access_token
from app.users import service
from app.users.models import User
from app.users.schemas import Me, Token, UserCreate, UserOut, UserUpdate

auth_router = APIRouter(prefix="/api/v1/auth", tags=["auth"])
users_router = APIRouter(prefix="/api/v1/users", tags=["users"])

user_sort = sorting(
    {"id": User.id, "email": User.email, "full_name": User.full_name, "role": User.role},
    default="id",
)


@auth_router.post(
    "/token",
    response_model=Token,
    summary="Log in and get a bearer token",
    description="OAuth2 password flow: form fields `username` (the email) and `password`. "
    "After 5 failed attempts for one account within 15 minutes, 429 until the window passes.",
    responses=errors(400, 401, 422, 429),
)
async def login(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
) -> Token:
    address = request.client.host if request.client else "unknown"
    user = await service.authenticate(session, settings, form.username, form.password, address)
    if user is None:
        # The failed attempt must be saved although the request fails: it feeds the throttle.
        await session.commit()
        raise Unauthorized("Incorrect email or password.")
    token, expires_in = create_access_token(
        user.id, settings.signing_key, settings.access_token_minutes
    )
    return Token(access_token=token, expires_in=expires_in)


@auth_router.get(
    "/me", response_model=Me, summary="The authenticated caller", responses=errors(401)
)
async def me(session: SessionDep, actor: CurrentUser) -> Me:
    user = await service.active_user(session, actor.id)
    return Me.model_validate(user)


@users_router.get(
    "",
    response_model=Page[UserOut],
    summary="List users (admin)",
    responses=errors(*LIST, 403),
)
async def list_users(
    session: SessionDep,
    actor: CurrentUser,
    page: PageDep,
    order_by: Annotated[list[Any], Depends(user_sort)],
) -> Page[UserOut]:
    items, total = await service.list_users(session, actor, page, order_by)
    return page_of(items, total, page, UserOut.model_validate)


@users_router.post(
    "",
    response_model=UserOut,
    status_code=status.HTTP_201_CREATED,
    summary="Create a user (admin)",
    responses=errors(*CREATE),
)
async def create_user(
    body: UserCreate, session: SessionDep, actor: CurrentUser, response: Response
) -> UserOut:
    user = await service.create_user(
        session,
        actor,
        email=str(body.email),
        full_name=body.full_name,
        password=body.password,
        role=body.role,
        centre_id=body.centre_id,
    )
    response.headers["Location"] = f"/api/v1/users/{user.id}"
    set_etag(response, user.version)
    return UserOut.model_validate(user)


@users_router.get(
    "/{user_id}",
    response_model=UserOut,
    summary="Get a user (admin)",
    responses=errors(*READ, 403),
)
async def get_user(
    user_id: PathId, session: SessionDep, actor: CurrentUser, response: Response
) -> UserOut:
    user = await service.get_user(session, actor, user_id)
    set_etag(response, user.version)
    return UserOut.model_validate(user)


@users_router.patch(
    "/{user_id}",
    response_model=UserOut,
    summary="Change a user (admin)",
    description="Change name, role, centre, active flag or password. Honours `If-Match`.",
    responses=errors(*UPDATE),
)
async def update_user(
    user_id: PathId,
    body: UserUpdate,
    session: SessionDep,
    actor: CurrentUser,
    response: Response,
    if_match: Annotated[str | None, Header()] = None,
) -> UserOut:
    user = await service.update_user(session, actor, user_id, body, if_match)
    set_etag(response, user.version)
    return UserOut.model_validate(user)
