from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request, Response, status
from fastapi.security import OAuth2PasswordRequestForm
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.concurrency import set_etag
from app.core.config import Settings
from app.core.db import SessionDep
from app.core.deps import CurrentUser, SettingsDep
from app.core.errors import TooManyRequests, Unauthorized
from app.core.metrics import record_login_failure
from app.core.openapi import CREATE, LIST, READ, UPDATE, errors, roles_doc
from app.core.pagination import Page, PageDep, page_of, sorting
from app.core.params import PathId
from app.core.roles import ADMINS, READERS
from app.core.security import create_access_token
from app.users import service
from app.users.models import LoginAttempt, User
from app.users.schemas import Me, PasswordChange, Token, UserCreate, UserOut, UserUpdate

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
    description="OAuth2 password flow: form fields `username` (the email) and `password`. "
    "A username over 254 characters or a forwarded address over 64 is a 422, counted as a "
    "failed attempt.",
    responses=errors(400, 401, 422, 429),
)
async def login(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
) -> Token:
    address = client_address(request)
    email = service.normalise_login(form.username)
    refused = service.login_input_problem(email, form.password, address)
    attempt = await reserve_attempt(session, settings, email, address)
    if refused is not None:
        record_login_failure("invalid_input")
        raise refused
    user = await service.check_credentials(session, attempt, email, form.password)
    if user is None:
        record_login_failure("credentials")
        raise Unauthorized("Incorrect email or password.")
    return issue_token(settings, user)


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def reserve_attempt(
    session: AsyncSession, settings: Settings, email: str, address: str
) -> LoginAttempt:
    """Record the attempt (as a failure until the password proves right) and commit it
    at once: it feeds the throttle even if the request then fails, and the commit releases
    the throttle's lock before the slow password check."""
    try:
        attempt = await service.reserve_login_attempt(session, settings, email, address)
    except TooManyRequests:
        record_login_failure("throttled")
        raise
    await session.commit()
    return attempt


def issue_token(settings: Settings, user: User) -> Token:
    token, expires_in = create_access_token(
        user.id, settings.signing_key, settings.access_token_minutes, user.password_generation
    )
    return Token(access_token=token, expires_in=expires_in)


@auth_router.post(
    "/password",
    response_model=Token,
    summary="Change your own password",
    description="Give the current password and a new one (10 to 128 characters, not the "
    "email or the name, not a common password; kept exactly as typed). Every token issued "
    "before ends, this one included: the answer is a fresh token. A wrong current password "
    "is a 422 naming `current_password` and counts as a failed login.",
    responses=errors(401, 422, 429),
    openapi_extra=roles_doc(READERS),
)
async def change_password(
    body: PasswordChange,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: CurrentUser,
) -> Token:
    # A weak new password is refused before anything is counted against the account.
    service.check_password_policy(
        body.new_password, email=actor.email, full_name=actor.full_name, field="new_password"
    )
    attempt = await reserve_attempt(session, settings, actor.email, client_address(request))
    user = await service.change_own_password(
        session, attempt, actor, body.current_password, body.new_password
    )
    return issue_token(settings, user)


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
