"""The tables the generator fills, their columns in the order its rows carry them, in
the order they are written (a table after those it refers to)."""

COLUMNS: dict[str, tuple[str, ...]] = {
    "holders": (
        "id", "centre_id", "adviser_id", "first_name", "last_name", "search_text",
        "national_id", "birth_date", "gender", "phone", "email", "address", "region",
        "province", "area", "education_level", "household_vulnerable", "status",
        "enrolled_on", "sector", "project_summary", "anonymised_at", "created_at",
        "updated_at", "version",
    ),
    "enterprises": (
        "id", "centre_id", "name", "search_text", "legal_form", "sector", "activity", "ice",
        "area", "region", "created_on", "status", "closed_on", "jobs_at_creation",
        "created_at", "updated_at", "version",
    ),
    "enterprise_owners": ("enterprise_id", "holder_id", "share_percent"),
    "loans": (
        "id", "centre_id", "holder_id", "enterprise_id", "product_id", "lender_id",
        "principal", "annual_rate", "term", "repayment_frequency", "interest_method",
        "amortization", "grace_periods", "purpose", "reference", "status", "applied_on",
        "approved_on",
        "rejected_on", "rejection_reason", "disbursed_on", "first_due_on", "closed_on",
        "written_off_on", "written_off_amount", "write_off_reason", "outstanding_principal",
        "paid_principal", "paid_interest", "oldest_unpaid_due_on", "overdue_through",
        "overdue_amount", "created_by",
        "created_at", "updated_at", "version",
    ),
    "installments": (
        "id", "loan_id", "seq", "due_on", "principal_due", "interest_due", "principal_paid",
        "interest_paid", "paid_off_on",
    ),
    "loan_transactions": (
        "id", "loan_id", "kind", "amount", "effective_on", "principal_portion",
        "interest_portion", "reference", "reversed", "reverses_id", "reason", "created_at",
        "created_by",
    ),
    "allocations": (
        "id", "loan_id", "transaction_id", "installment_id", "paid_on", "principal",
        "interest", "due_on",
    ),
    "coaching_sessions": (
        "id", "centre_id", "adviser_id", "kind", "format", "mode", "held_on",
        "duration_minutes", "topic", "notes", "next_steps", "enterprise_id", "created_at",
        "updated_at", "version",
    ),
    "session_participants": ("session_id", "holder_id", "attendance"),
    "follow_ups": (
        "id", "enterprise_id", "centre_id", "adviser_id", "visited_on", "mode",
        "enterprise_status", "monthly_revenue", "employees_count", "risk_level", "needs",
        "notes", "next_follow_up_on", "created_at", "updated_at", "version",
    ),
}  # fmt: skip

TABLES = tuple(COLUMNS)

Row = tuple[object, ...]
