from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request, Response, status
from fastapi.security import OAuth2PasswordRequestForm

from app.core.concurrency import set_etag
from app.core.config import Settings
from app.core.db import SessionDep
from app.core.deps import CurrentUser, SettingsDep
from app.core.errors import Unauthorized
from app.core.openapi import CREATE, LIST, READ, UPDATE, errors, roles_doc
from app.core.pagination import Page, PageDep, page_of, sorting
from app.core.params import PathId
from app.core.roles import ADMINS, READERS
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


LOGIN_PATH = "/api/v1/auth/token"


def describe_throttling(document: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """State the login throttling of these settings in the login operation's description."""
    login = document["paths"][LOGIN_PATH]["post"]
    login["description"] += (
        f" After {settings.login_max_failures} failed attempts for one account, or "
        f"{settings.login_address_max_failures} from one address, within "
        f"{settings.login_window_minutes} minutes, 429 (with `Retry-After`) until the window "
        "passes."
    )
    return document


@auth_router.post(
    "/token",
    response_model=Token,
    summary="Log in and get a bearer token",
    # The throttling sentence is added from the settings in force (`describe_throttling`).
    description="OAuth2 password flow: form fields `username` (the email) and `password`.",
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
    "/me",
    response_model=Me,
    summary="The authenticated caller",
    description="The account the bearer token names: id, email, name, role and centre. 401 when the "
    "token is missing, invalid or expired, or its user was deactivated.",
    responses=errors(401),
    openapi_extra=roles_doc(READERS),
)
async def me(session: SessionDep, actor: CurrentUser) -> Me:
    user = await service.active_user(session, actor.id)
    return Me.model_validate(user)


@users_router.get(
    "",
    response_model=Page[UserOut],
    summary="List users",
    description="Every account, active or not, sorted by `sort`.",
    responses=errors(*LIST, 403),
    openapi_extra=roles_doc(ADMINS),
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
    summary="Create a user",
    description="The email is stored lower-case and must be unused (409). An adviser belongs to a "
    "centre; an admin has none (422 naming `centre_id`). The password (at least 10 "
    "characters) is stored as an argon2 hash, never returned.",
    responses=errors(*CREATE),
    openapi_extra=roles_doc(ADMINS),
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
    summary="Get a user",
    description="One account with its `ETag`. 404 when missing.",
    responses=errors(*READ, 403),
    openapi_extra=roles_doc(ADMINS),
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
    summary="Change a user",
    description="Change name, role, centre, active flag or password. Honours `If-Match`.",
    responses=errors(*UPDATE),
    openapi_extra=roles_doc(ADMINS),
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
