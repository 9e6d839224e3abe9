"""One exception tree for brainobs.

Every error derives from :class:`BrainobsError` and also from the builtin a caller would
naturally catch (``LookupError``, ``OSError``, ``ValueError``), so ``except KeyError``-style
code written against the reference toolkit keeps working. Messages say what was wrong and how
to fix it.
"""

from __future__ import annotations


class BrainobsError(Exception):
    """Base class of every error brainobs raises on purpose."""


# --- lookups ---------------------------------------------------------------------------------
class UnknownReleaseError(BrainobsError, LookupError):
    """A release name that is not one of vbn, vbo, vcn."""


class ManifestNotFoundError(BrainobsError, LookupError):
    """A manifest version that the source or cache does not hold."""


class UnknownIdError(BrainobsError, LookupError):
    """A session, probe, unit or file id that is not in the release."""


class FileNotInCacheError(BrainobsError, FileNotFoundError):
    """A file the manifest lists but that a local-only cache does not have."""


class MissingDataError(BrainobsError, LookupError):
    """A group, dataset or column that a data file does not hold (optional in some files)."""


# --- bad input -------------------------------------------------------------------------------
class ManifestError(BrainobsError, ValueError):
    """A manifest that cannot be parsed or does not describe a valid release."""


class UnsafeKeyError(ManifestError):
    """A manifest key that would write outside the cache root (``../``, absolute paths)."""


class InvalidInputError(BrainobsError, ValueError):
    """An argument or table that brainobs cannot work with (missing columns, bad windows...)."""


class OutputTooLargeError(BrainobsError, MemoryError):
    """A requested in-memory result larger than the memory available (the message gives sizes)."""


# --- I/O -------------------------------------------------------------------------------------
class CacheError(BrainobsError, OSError):
    """The cache directory cannot be used (not writable, a file where a folder should be...)."""


class DownloadError(BrainobsError, OSError):
    """A transfer that failed after every retry."""


class TransientError(DownloadError):
    """A failure worth retrying: dropped connection, stall past the timeout, 5xx answer."""


class HashMismatchError(DownloadError):
    """Downloaded bytes whose BLAKE2b digest or size differs from the manifest."""


class SourceError(BrainobsError, OSError):
    """The source answered with a permanent error (403, 404, unsupported operation)."""


class CorruptFileError(BrainobsError, OSError):
    """A cached data file that cannot be read (truncated or damaged)."""


# --- warnings --------------------------------------------------------------------------------
class BrainobsWarning(UserWarning):
    """Base class of brainobs's warnings."""


class OutdatedManifestWarning(BrainobsWarning):
    """The manifest in use is not the newest one the source offers."""
