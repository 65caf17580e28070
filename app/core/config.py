"""Settings, read once from the environment (and an optional `.env` file)."""

import logging
import secrets
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

logger = logging.getLogger("app.config")

WEAK_SECRETS = {"", "change-me", "changeme", "secret", "dev", "development"}


class Settings(BaseSettings):
    """Every setting of the service; `.env.example` documents each one."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    environment: Literal["development", "production"] = "development"
    database_url: str = "sqlite:///./var/tracker.db"
    reports_database_url: str | None = None
    secret_key: SecretStr | None = None
    access_token_minutes: int = Field(default=60, ge=1, le=24 * 60)
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    youth_min_age: int = Field(default=18, ge=0)
    youth_max_age: int = Field(default=35, ge=0)
    follow_up_cadence_days: int = Field(default=90, ge=1)
    session_gap_days: int = Field(default=60, ge=1)
    timezone: str = "Africa/Casablanca"
    max_loan_principal: Decimal = Decimal("150000.00")
    login_max_failures: int = Field(default=5, ge=1)
    login_address_max_failures: int = Field(default=20, ge=1)
    login_window_minutes: int = Field(default=15, ge=1)
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    # The contract keeps idempotency keys at least a day.
    idempotency_ttl_hours: int = Field(default=24, ge=24)
    log_level: str = "INFO"
    db_connect_timeout: float = Field(default=5.0, gt=0, le=120)
    """Seconds to open a database connection before answering 503."""
    db_command_timeout: float = Field(default=30.0, gt=0, le=3600)
    """Seconds one statement may run (PostgreSQL) before it is cancelled and the request
    answered 503; also how long a request waits for a free pooled connection."""
    db_pool_size: int = Field(default=20, ge=1, le=500)
    """Connections each worker keeps open to the database (PostgreSQL). A request beyond
    them waits for one to be free (up to `db_command_timeout`, then 503) instead of opening
    a connection of its own: opening one costs a PostgreSQL process, several milliseconds,
    and a pool that opened and closed connections under a steady load served a fraction of
    the calls it serves with them kept (docs/SCALING.md). Workers times this must stay
    below the server's `max_connections`."""
    report_work_mem: str = Field(default="64MB", pattern=r"^[1-9][0-9]{0,6}(kB|MB|GB)$")
    """PostgreSQL `work_mem` while a report runs (for example `64MB`): the memory each of
    its sorts and hashes may use before spilling to temporary files."""
    schema_check_seconds: float = Field(default=10.0, ge=0)
    """How long a successful "the schema is at head" check is trusted before it is redone."""
    docs_enabled: bool = True
    metrics_enabled: bool = True

    @field_validator("cors_origins", mode="before")
    @classmethod
    def split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @field_validator("timezone")
    @classmethod
    def known_timezone(cls, value: str) -> str:
        ZoneInfo(value)
        return value

    @model_validator(mode="after")
    def secret_for_environment(self) -> "Settings":
        if self.youth_min_age > self.youth_max_age:
            raise ValueError("YOUTH_MIN_AGE must not exceed YOUTH_MAX_AGE")
        key = self.secret_key.get_secret_value() if self.secret_key else ""
        if self.environment == "production":
            if key.lower() in WEAK_SECRETS or len(key) < 32:
                raise ValueError(
                    "SECRET_KEY must be set to a random value of at least 32 characters "
                    "in production (e.g. python -c 'import secrets; print(secrets.token_urlsafe(48))')"
                )
        elif not key:
            self.secret_key = SecretStr(secrets.token_urlsafe(48))
            logger.warning(
                "SECRET_KEY is not set: generated a temporary one for this development process; "
                "tokens will not survive a restart."
            )
        return self

    @property
    def signing_key(self) -> str:
        assert self.secret_key is not None
        return self.secret_key.get_secret_value()

    def today(self) -> date:
        """Today's date in the configured time zone."""
        return datetime.now(ZoneInfo(self.timezone)).date()


@lru_cache
def get_settings() -> Settings:
    return Settings()
