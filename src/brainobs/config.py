"""Where brainobs keeps its cache, and the transfer and memory settings users can change.

Precedence for every setting: explicit argument > environment variable > default. Every value
is checked where it is read: a bad one raises :class:`~brainobs.errors.InvalidInputError`
naming the variable (or argument), what it holds and what to write instead.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, fields
from pathlib import Path

import platformdirs

from brainobs.errors import InvalidInputError

CACHE_DIR_ENV = "BRAINOBS_CACHE_DIR"
S3_ENDPOINT_ENV = "BRAINOBS_S3_ENDPOINT"
CONNECT_TIMEOUT_ENV = "BRAINOBS_CONNECT_TIMEOUT"
READ_TIMEOUT_ENV = "BRAINOBS_READ_TIMEOUT"
RETRIES_ENV = "BRAINOBS_RETRIES"
MEMORY_BUDGET_ENV = "BRAINOBS_MEMORY_BUDGET"
MAP_FILES_ENV = "BRAINOBS_MAP_FILES"

#: Most retries accepted (each may back off up to ``backoff_max`` seconds).
MAX_RETRIES = 100
#: Longest timeout accepted (a day, in seconds).
MAX_TIMEOUT = 86_400.0
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
_BYTES = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$", re.IGNORECASE)


def _checked_path(text: str, what: str) -> Path:
    """Return ``text`` as a path; refuse control characters, which no folder name holds."""
    if not text.isprintable():
        raise InvalidInputError(
            f"{what} {text!r} holds a NUL or control character; give a plain folder path."
        )
    return Path(text).expanduser()


def cache_dir(path: str | os.PathLike[str] | None = None) -> Path:
    """Return the cache directory: ``path``, else $BRAINOBS_CACHE_DIR, else the user cache."""
    if path is not None:
        return _checked_path(os.fspath(path), "The cache folder")
    env = os.environ.get(CACHE_DIR_ENV)
    if env:
        return _checked_path(env, CACHE_DIR_ENV)
    return Path(platformdirs.user_cache_dir("brainobs", appauthor=False))


def s3_endpoint(endpoint: str | None = None) -> str | None:
    """Return the S3 endpoint override: ``endpoint``, else $BRAINOBS_S3_ENDPOINT, else None."""
    value = endpoint or os.environ.get(S3_ENDPOINT_ENV) or None
    if value is not None and not re.match(r"^https?://[^\s/]+", value):
        name = "--endpoint" if endpoint else S3_ENDPOINT_ENV
        raise InvalidInputError(
            f"{name}={value!r} is not an http(s):// address; write e.g. "
            "https://s3.us-west-2.amazonaws.com or http://127.0.0.1:9000, or unset it."
        )
    return value


def _env_number(name: str, default: float, whole: bool = False) -> float:
    """Return environment variable ``name`` as a number (``default`` when unset or empty)."""
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = int(text) if whole else float(text)
    except ValueError:
        kind = "a whole number" if whole else "a number of seconds"
        raise InvalidInputError(
            f"{name}={text!r} is not {kind}; set it to e.g. {default:g}, or unset it."
        ) from None
    return value


def memory_budget(budget: int | str | None = None) -> int:
    """Return the most bytes one read may allocate: ``budget``, $BRAINOBS_MEMORY_BUDGET, else
    half the machine's memory (at least 2 GiB).

    Text may carry a unit: ``"512M"``, ``"8G"``, ``"1.5GiB"``.
    """
    if budget is not None:
        return _parse_bytes(budget, "memory_budget")
    text = os.environ.get(MEMORY_BUDGET_ENV, "").strip()
    if text:
        return _parse_bytes(text, MEMORY_BUDGET_ENV)
    try:
        physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        physical = 16 << 30
    return max(2 << 30, physical // 2)


def map_files() -> bool:
    """Return whether large contiguous datasets of local files are memory-mapped, not read.

    $BRAINOBS_MAP_FILES: ``1``/``true``/``on`` (the default) or ``0``/``false``/``off``.
    """
    text = os.environ.get(MAP_FILES_ENV, "").strip().lower()
    if text in ("", "1", "true", "on", "yes"):
        return True
    if text in ("0", "false", "off", "no"):
        return False
    raise InvalidInputError(
        f"{MAP_FILES_ENV}={text!r} is not on or off; set it to 1 (map large local datasets) "
        "or 0 (read them into memory), or unset it."
    )


def _parse_bytes(value: int | str, name: str) -> int:
    """Return ``value`` (bytes, or text with a K/M/G/T unit) as a positive byte count."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise InvalidInputError(f"{name}={value!r}: give a number of bytes such as '8G'.")
    if isinstance(value, int):
        number = value
    else:
        match = _BYTES.match(value)
        if match is None:
            raise InvalidInputError(
                f"{name}={value!r} is not a size; write bytes or a size such as 512M or 8G."
            )
        number = int(float(match.group(1)) * _UNITS[match.group(2).lower()])
    if number <= 0:
        raise InvalidInputError(f"{name}={value!r}: the memory budget must be more than 0.")
    return number


@dataclass(frozen=True)
class TransferSettings:
    """Timeouts (seconds) and retry policy for every network transfer.

    ``read_timeout`` is the longest wait for the next bytes of a response: a transfer that
    stalls longer is dropped and resumed. Retries back off exponentially from
    ``backoff_initial`` up to ``backoff_max`` seconds. Every value is checked on creation.
    """

    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    retries: int = 5
    backoff_initial: float = 0.5
    backoff_max: float = 30.0
    chunk_size: int = 1 << 20

    def __post_init__(self) -> None:
        for spec in fields(self):
            _check_setting(spec.name, getattr(self, spec.name))

    @classmethod
    def from_env(cls) -> TransferSettings:
        """Return settings with the environment's overrides applied (each checked)."""
        values = {
            "connect_timeout": (CONNECT_TIMEOUT_ENV, cls.connect_timeout, False),
            "read_timeout": (READ_TIMEOUT_ENV, cls.read_timeout, False),
            "retries": (RETRIES_ENV, cls.retries, True),
        }
        kwargs: dict[str, float] = {}
        for field_name, (env, default, whole) in values.items():
            value = _env_number(env, default, whole)
            _check_setting(field_name, value, env)
            kwargs[field_name] = value
        return cls(**kwargs)  # type: ignore[arg-type]

    def backoff(self, attempt: int) -> float:
        """Return the pause before retry number ``attempt`` (1-based)."""
        return min(self.backoff_max, self.backoff_initial * 2 ** (attempt - 1))


def _check_setting(name: str, value: object, env: str | None = None) -> None:
    """Raise InvalidInputError unless ``value`` is a sensible value of setting ``name``."""
    label = f"{env}={value!r}" if env else f"TransferSettings({name}={value!r})"
    if name in ("retries", "chunk_size"):
        low, high = (0, MAX_RETRIES) if name == "retries" else (1, 1 << 30)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise InvalidInputError(
                f"{label}: {name} must be a whole number from {low} to {high}"
                + (" (0 means a single attempt)." if name == "retries" else ".")
            )
        return
    number = value if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    zero_ok = name.startswith("backoff")
    if (
        number is None
        or not math.isfinite(number)
        or not (number >= 0 if zero_ok else number > 0)
        or number > MAX_TIMEOUT
    ):
        bound = "0 or more" if zero_ok else "above 0"
        raise InvalidInputError(
            f"{label}: {name} must be a number of seconds {bound} and at most {MAX_TIMEOUT:g}."
        )
