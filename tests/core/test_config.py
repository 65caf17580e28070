import pytest
from pydantic import ValidationError

from app.core.config import Settings


def test_production_refuses_to_start_without_a_real_secret() -> None:
    for weak in (None, "", "change-me", "short-secret"):
        with pytest.raises(ValidationError, match="SECRET_KEY"):
            Settings(environment="production", secret_key=weak)


def test_production_accepts_a_long_random_secret() -> None:
    settings = Settings(environment="production", secret_key="k" * 48)
    assert settings.signing_key == "k" * 48


def test_development_generates_a_secret_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("WARNING"):
        first = Settings(environment="development", secret_key=None)
    assert len(first.signing_key) >= 32
    assert "SECRET_KEY is not set" in caplog.text
    assert Settings(environment="development").signing_key != first.signing_key


def test_cors_origins_from_a_comma_separated_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORS_ORIGINS", "http://localhost:5173, https://app.centre.ma")
    assert Settings().cors_origins == ["http://localhost:5173", "https://app.centre.ma"]
