from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints

from app.core.schemas import RequestModel
from app.core.scope import Role
from app.core.security import MIN_PASSWORD_LENGTH

FullName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Password = Annotated[str, Field(min_length=MIN_PASSWORD_LENGTH, max_length=128)]


class Token(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"access_token": "eyJhbGciOi...", "token_type": "bearer", "expires_in": 3600}
            ]
        }
    )

    access_token: str
    token_type: str = "bearer"
    expires_in: int = Field(description="Seconds until the token expires.")


class Me(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    full_name: str
    role: Role
    centre_id: int | None
    is_active: bool


class UserOut(Me):
    version: int
    created_at: datetime
    updated_at: datetime


class UserCreate(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "email": "salma.adviser@centre.ma",
                    "full_name": "Salma Bennani",
                    "password": "a-long-passphrase",
                    "role": "adviser",
                    "centre_id": 1,
                }
            ]
        },
    )

    email: EmailStr
    full_name: FullName
    password: Password
    role: Role
    centre_id: int | None = None


NULLABLE_ON_PATCH = ("centre_id",)
"""Fields a PATCH may set to null."""


class UserUpdate(RequestModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"is_active": False}]})

    full_name: FullName | None = None
    password: Password | None = None
    role: Role | None = None
    centre_id: int | None = None
    is_active: bool | None = None
