import logging
import logging.config
from collections.abc import Iterator

import pytest
import uvicorn.config

from app.core.logging import DropQueryString, configure_logging


def test_access_log_lines_lose_their_query_string() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/api/v1/holders?q=BE123456&phone=0612345678", "1.1", 200),
        None,
    )
    assert DropQueryString().filter(record)
    assert record.getMessage() == '127.0.0.1:5000 - "GET /api/v1/holders HTTP/1.1" 200'


@pytest.fixture
def restored_logging() -> Iterator[None]:
    names = ["", "uvicorn", "uvicorn.error", "uvicorn.access"]
    loggers = [logging.getLogger(name) for name in names]
    saved = [(logger.level, list(logger.handlers), logger.propagate) for logger in loggers]
    yield
    for logger, (level, handlers, propagate) in zip(loggers, saved, strict=True):
        logger.setLevel(level)
        logger.handlers = handlers
        logger.propagate = propagate


@pytest.mark.usefixtures("restored_logging")
@pytest.mark.parametrize(("level", "access_lines"), [("WARNING", False), ("INFO", True)])
def test_log_level_governs_uvicorns_loggers_too(level: str, access_lines: bool) -> None:
    logging.config.dictConfig(uvicorn.config.LOGGING_CONFIG)  # as `uvicorn.run` sets them
    configure_logging(level)
    assert logging.getLogger("uvicorn.access").isEnabledFor(logging.INFO) is access_lines
    assert logging.getLogger("uvicorn.error").isEnabledFor(logging.INFO) is access_lines
    assert logging.getLogger("uvicorn.error").isEnabledFor(logging.WARNING)
