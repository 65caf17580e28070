"""Kept so that tests written before the factories moved still import: each model's factory
now lives in the tests of its domain (`tests/<domain>/factories.py`) and the shared helpers
in `tests/helpers.py`. Import from there; this module goes once nothing uses it."""

from tests.centres.factories import make_centre
from tests.enterprises.factories import make_enterprise
from tests.helpers import auth, unique
from tests.holders.factories import make_holder
from tests.loans.factories import make_lender, make_product
from tests.users.factories import PASSWORD, make_user

__all__ = [
    "PASSWORD",
    "auth",
    "make_centre",
    "make_enterprise",
    "make_holder",
    "make_lender",
    "make_product",
    "make_user",
    "unique",
]
