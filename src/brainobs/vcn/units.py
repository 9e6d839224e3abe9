"""The unit quality filters of Visual Coding Neuropixels (reference/format_ecephys.md §2.2.1).

The project cache's unit tables and the sessions keep, by default, units with
``amplitude_cutoff <= 0.1``, ``presence_ratio >= 0.95`` and ``isi_violations <= 0.5``. A
keyword overrides a threshold; ``None`` or an infinite value turns it off. With a threshold on,
a unit whose metric is missing (NaN) cannot be shown to pass and is dropped (as the reference
drops it); with it off, such a unit is kept (the reference drops it even then, §7 item 16). A
threshold of 0 is a threshold (the reference's sessions read 0 as "off").
"""

from __future__ import annotations

from typing import Any

from brainobs.errors import InvalidInputError
from brainobs.tables.filters import UnitThresholds

#: The default thresholds of the cache's tables and the sessions.
DEFAULT_UNIT_FILTERS: UnitThresholds = {
    "amplitude_cutoff_maximum": 0.1,
    "presence_ratio_minimum": 0.95,
    "isi_violations_maximum": 0.5,
}
#: Keywords the reference accepts beside the thresholds (its cache-level no-op included).
OTHER_UNIT_KEYWORDS = ("filter_out_of_brain_units",)


def unit_thresholds(**filters: Any) -> dict[str, float | None]:
    """Return the three thresholds: the defaults, overridden by ``filters``.

    Raises InvalidInputError for a keyword that is not a unit filter.
    """
    unknown = sorted(set(filters) - set(DEFAULT_UNIT_FILTERS) - set(OTHER_UNIT_KEYWORDS))
    if unknown:
        raise InvalidInputError(
            f"Unknown unit filter {unknown}; the unit filters are "
            f"{sorted(DEFAULT_UNIT_FILTERS)} (None turns one off) and filter_by_validity."
        )
    return {name: filters.get(name, default) for name, default in DEFAULT_UNIT_FILTERS.items()}
