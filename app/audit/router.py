from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from app.audit import service
from app.audit.schemas import AuditEventOut
from app.core.audit import AuditEvent
from app.core.db import SessionDep
from app.core.deps import CurrentUser
from app.core.openapi import LIST, errors, roles_doc
from app.core.pagination import Page, PageDep, page_of, sorting
from app.core.params import QueryId
from app.core.roles import AUDITORS

router = APIRouter(prefix="/api/v1/audit-events", tags=["audit"])

audit_sort = sorting({"id": AuditEvent.id, "occurred_at": AuditEvent.occurred_at}, default="-id")


@router.get(
    "",
    response_model=Page[AuditEventOut],
    summary="The audit trail",
    description="Who changed what and when, newest first; filter by `entity` and `entity_id`. "
    "Passwords, tokens and erased personal data never appear.",
    responses=errors(*LIST, 403),
    openapi_extra=roles_doc(AUDITORS),
)
async def list_audit_events(
    session: SessionDep,
    actor: CurrentUser,
    page: PageDep,
    order_by: Annotated[list[Any], Depends(audit_sort)],
    entity: Annotated[str | None, Query(max_length=40, examples=["holder"])] = None,
    entity_id: QueryId = None,
    actor_id: QueryId = None,
) -> Page[AuditEventOut]:
    items, total = await service.list_events(
        session, actor, page, order_by, entity=entity, entity_id=entity_id, actor_id=actor_id
    )
    return page_of(items, total, page, AuditEventOut.model_validate)
