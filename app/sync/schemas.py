"""The body of `POST /api/v1/sync` and its answer."""

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, StringConstraints

from app.core.schemas import RequestModel, ResponseModel

MAX_OPERATIONS = 500

Ref = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class SyncOperation(RequestModel):
    """One queued request. `body` and `path` may name the id another, earlier operation
    returned as the string `"$ref:R.id"` (a whole JSON string value in the body, or a
    segment of the path)."""

    ref: Ref = Field(description="The client's name for this operation, unique in the batch.")
    method: Literal["POST", "PATCH"]
    path: Annotated[str, StringConstraints(min_length=1, max_length=300)] = Field(
        description="A creating or acting `POST` path of `/api/v1`, or a `PATCH`able record."
    )
    body: Any = Field(default=None, description="The JSON body the single call would send.")
    idempotency_key: Annotated[str, StringConstraints(min_length=1, max_length=200)] = Field(
        description="Sent as `Idempotency-Key`: a batch sent again has each effect once."
    )
    if_match: Annotated[str, StringConstraints(min_length=1, max_length=100)] | None = Field(
        default=None, description="Sent as `If-Match` (the `ETag` the client last read)."
    )


class SyncRequest(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "operations": [
                        {
                            "ref": "h1",
                            "method": "POST",
                            "path": "/api/v1/holders",
                            "idempotency_key": "2f0c6d1e-holder-1",
                            "body": {
                                "first_name": "Fatima Zahra",
                                "last_name": "El Amrani",
                                "national_id": "BE123456",
                                "birth_date": "2001-05-17",
                                "gender": "female",
                                "area": "urban",
                                "enrolled_on": "2025-01-15",
                            },
                        },
                        {
                            "ref": "s1",
                            "method": "POST",
                            "path": "/api/v1/coaching-sessions",
                            "idempotency_key": "2f0c6d1e-session-1",
                            "body": {
                                "kind": "advice",
                                "format": "individual",
                                "mode": "in_person",
                                "held_on": "2025-01-15",
                                "duration_minutes": 60,
                                "topic": "Pricing and costing",
                                "holder_ids": ["$ref:h1.id"],
                            },
                        },
                    ]
                }
            ]
        }
    )

    operations: list[SyncOperation] = Field(min_length=1, max_length=MAX_OPERATIONS)


class SyncResult(ResponseModel):
    ref: str
    status: int = Field(description="The status the single call gave (424: a `$ref` failed).")
    body: Any = Field(description="Its JSON body (a problem on failure).")
    etag: str | None = Field(
        default=None, description="Its `ETag`; on a 412, the record's current one."
    )
    location: str | None = None


class SyncResponse(ResponseModel):
    results: list[SyncResult]
