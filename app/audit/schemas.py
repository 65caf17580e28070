from datetime import datetime
from typing import Any

from app.core.schemas import ResponseModel


class AuditEventOut(ResponseModel):
    id: int
    occurred_at: datetime
    actor_id: int | None
    action: str
    entity: str
    entity_id: int | None
    centre_id: int | None
    changes: dict[str, Any]
