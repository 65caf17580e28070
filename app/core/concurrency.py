"""ETag and If-Match for resources that carry a `version`."""

from fastapi import Response

from app.core.errors import PreconditionFailed


def etag_for(version: int) -> str:
    return f'"{version}"'


def set_etag(response: Response, version: int) -> None:
    response.headers["ETag"] = etag_for(version)


def ensure_if_match(if_match: str | None, current_version: int) -> None:
    """412 when the client's `If-Match` names another version than the stored one."""
    if if_match is None:
        return
    candidates = [tag.strip() for tag in if_match.split(",")]
    if "*" in candidates:
        return
    for tag in candidates:
        value = tag.removeprefix("W/").strip('"')
        if value == str(current_version):
            return
    raise PreconditionFailed(
        f"The resource is at version {current_version}; reload it before changing it."
    )
