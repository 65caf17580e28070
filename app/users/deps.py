"""The authentication dependencies, now in `app.core.deps` (so that every domain, centres
included, can use them without importing users); these names stay importable here."""

from app.core.deps import CurrentUser, SettingsDep, current_user, get_settings_dep, oauth2_scheme

__all__ = ["CurrentUser", "SettingsDep", "current_user", "get_settings_dep", "oauth2_scheme"]
