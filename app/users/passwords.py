"""The password policy, after NIST SP 800-63B (section 5.1.1.2): length rather than
composition rules, and no password that an attacker would try first.

A password is refused when it
- has fewer than 10 or more than 128 characters (counted as Unicode code points);
- equals the account's email, the email's local part or the user's name (ignoring case
  and spaces);
- is one of the 10,000 most common passwords, or one of them followed only by digits and
  punctuation (`password12`, `dragon2026!`), ignoring case;
- repeats a single character (`aaaaaaaaaa`).

Passwords are never trimmed or otherwise changed: what the user typed is what is hashed
and what is compared at login.

`common_passwords.txt` holds the first 10,000 entries, in rank order, of the `passwords`
frequency list shipped with zxcvbn 4.5.0 (MIT licence), itself ranked from Mark Burnett's
corpus of ten million leaked passwords (see README, "Password policy").
"""

from functools import lru_cache
from importlib.resources import files

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 128
TRAILING_DECORATION = "0123456789!@#$%^&*()_-+=.,;:?/\\|~`'\"[]{}<> "


@lru_cache
def common_passwords() -> frozenset[str]:
    text = files("app.users").joinpath("common_passwords.txt").read_text(encoding="utf-8")
    return frozenset(line for line in text.splitlines() if line)


def _fold(text: str) -> str:
    return "".join(text.split()).casefold()


def password_problem(password: str, *, email: str, full_name: str) -> str | None:
    """Why `password` is refused for this account, or None when it is acceptable."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"must have at least {MIN_PASSWORD_LENGTH} characters"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"must have at most {MAX_PASSWORD_LENGTH} characters"
    folded = _fold(password)
    local_part = email.split("@", 1)[0]
    if folded in {_fold(email), _fold(local_part), _fold(full_name)}:
        return "must not be the email or the name of the account"
    if len(set(password)) == 1:
        return "must not repeat a single character"
    common = common_passwords()
    lowered = password.casefold()
    stem = lowered.rstrip(TRAILING_DECORATION)
    if lowered in common or (stem != lowered and stem in common):
        return "is too common: it is among the passwords that attackers try first"
    return None
