"""Where brainobs keeps its cache, and the transfer settings users can change.

Precedence for every setting: explicit argument > environment variable > default.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

CACHE_DIR_ENV = "BRAINOBS_CACHE_DIR"
S3_ENDPOINT_ENV = "BRAINOBS_S3_ENDPOINT"
CONNECT_TIMEOUT_ENV = "BRAINOBS_CONNECT_TIMEOUT"
READ_TIMEOUT_ENV = "BRAINOBS_READ_TIMEOUT"
RETRIES_ENV = "BRAINOBS_RETRIES"


def cache_dir(path: str | os.PathLike[str] | None = None) -> Path:
    """Return the cache directory: ``path``, else $BRAINOBS_CACHE_DIR, else the user cache."""
    if path is not None:
        return Path(path).expanduser()
    env = os.environ.get(CACHE_DIR_ENV)
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_cache_dir("brainobs", appauthor=False))


def s3_endpoint(endpoint: str | None = None) -> str | None:
    """Return the S3 endpoint override: ``endpoint``, else $BRAINOBS_S3_ENDPOINT, else None."""
    return endpoint or os.environ.get(S3_ENDPOINT_ENV) or None


def _env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value else default


@dataclass(frozen=True)
class TransferSettings:
    """Timeouts (seconds) and retry policy for every network transfer.

    ``read_timeout`` is the longest wait for the next bytes of a response: a transfer that
    stalls longer is dropped and resumed. Retries back off exponentially from
    ``backoff_initial`` up to ``backoff_max`` seconds.
    """

    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    retries: int = 5
    backoff_initial: float = 0.5
    backoff_max: float = 30.0
    chunk_size: int = 1 << 20

    @classmethod
    def from_env(cls) -> TransferSettings:
        """Return settings with the environment's overrides applied."""
        return cls(
            connect_timeout=_env_float(CONNECT_TIMEOUT_ENV, cls.connect_timeout),
            read_timeout=_env_float(READ_TIMEOUT_ENV, cls.read_timeout),
            retries=int(_env_float(RETRIES_ENV, cls.retries)),
        )

    def backoff(self, attempt: int) -> float:
        """Return the pause before retry number ``attempt`` (1-based)."""
        return min(self.backoff_max, self.backoff_initial * 2 ** (attempt - 1))
