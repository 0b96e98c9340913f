"""One typed settings object and the paths of everything that lives in ``KLUIS_HOME``."""

from __future__ import annotations

from functools import cached_property
from importlib import resources
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Settings come from environment variables prefixed ``KLUIS_`` (e.g. ``KLUIS_HOME``)."""

    model_config = SettingsConfigDict(env_prefix="KLUIS_", frozen=True)

    home: Path = Path(".kluis")
    host: str = "127.0.0.1"
    port: int = 8000
    # Requests per token per minute that the API accepts before answering 429.
    rate_limit_per_minute: int = 600

    @cached_property
    def keys_dir(self) -> Path:
        """Secret keys of the sealed side (pseudonymisation secret, data-key wrapper)."""
        return self.home / "keys"

    @cached_property
    def sealed_dir(self) -> Path:
        """The encrypted microdata store: only the sealed worker reads it."""
        return self.home / "sealed"

    @cached_property
    def release_dir(self) -> Path:
        """The release store (SQLite) and the release signing public keys."""
        return self.home / "releases"

    @cached_property
    def release_db(self) -> Path:
        return self.release_dir / "releases.sqlite"

    @cached_property
    def signing_dir(self) -> Path:
        """The Ed25519 release signing key (private half 0600)."""
        return self.home / "signing"


def get_settings() -> Settings:
    return Settings()


def package_data(*parts: str) -> Path:
    """Path of a file shipped inside the kansenkluis package (geography, default policy)."""
    return Path(str(resources.files("kansenkluis").joinpath("data", *parts)))


def geo_dir() -> Path:
    """The CBS 2025 gemeenten and wijken (CC BY 4.0), shipped with the package."""
    return package_data("geo")


GEO_ATTRIBUTION = (
    "Bron: CBS / PDOK (CBS Gebiedsindelingen 2025, gegeneraliseerd), via github.com/cartomap/nl "
    "— CC BY 4.0."
)
