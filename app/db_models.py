"""Imports every model so that Alembic and the tests see the whole schema."""

from app.centres.models import Centre
from app.coaching.models import CoachingSession, SessionParticipant
from app.core.audit import AuditEvent
from app.core.db import Base
from app.core.idempotency import IdempotentRequest
from app.enterprises.models import Enterprise, EnterpriseOwner
from app.followups.models import FollowUp
from app.holders.models import Holder
from app.loans.models import (
    Allocation,
    Installment,
    Lender,
    Loan,
    LoanProduct,
    LoanTransaction,
    MonthEndOverdue,
    MonthEndPosition,
    StoredMonthEnd,
)
from app.users.models import LoginAttempt, User

__all__ = [
    "Allocation",
    "AuditEvent",
    "Base",
    "Centre",
    "CoachingSession",
    "Enterprise",
    "EnterpriseOwner",
    "FollowUp",
    "Holder",
    "IdempotentRequest",
    "Installment",
    "Lender",
    "Loan",
    "LoanProduct",
    "LoanTransaction",
    "LoginAttempt",
    "MonthEndOverdue",
    "MonthEndPosition",
    "SessionParticipant",
    "StoredMonthEnd",
    "User",
]
