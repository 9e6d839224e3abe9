"""Inputs of the tuning metrics: stimulus detection, condition tables, running speed.

Everything here turns the plain inputs (a presentations table with the reference's columns and a
running-speed table) into arrays the metric formulas use: the presentations of one stimulus sorted
by start time, a condition index per presentation, each condition's parameter values as floats
(missing values as NaN, whatever way the table spells them), and the mean running speed of each
presentation. Bad input raises :class:`~brainobs.errors.InvalidInputError` or
:class:`~brainobs.errors.UnknownIdError` naming the problem.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from brainobs.analysis._validation import presentation_windows, preview
from brainobs.analysis.conditions import stimulus_condition_ids
from brainobs.errors import InvalidInputError, UnknownIdError

__all__ = ["STIMULI", "StimulusBlock", "StimulusSpec", "find_stimulus_name", "stimulus_block"]

_MISSING_TEXT = frozenset({"", "null", "nan", "none", "<na>", "n/a"})

#: Alternative spellings of parameter columns (VCN name first, then VBN's).
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "x_position": ("x_position", "position_x"),
    "y_position": ("y_position", "position_y"),
}


@dataclass(frozen=True)
class StimulusSpec:
    """What the metrics of one stimulus type need: names, trial length, parameters, blank rule."""

    suffix: str
    label: str
    names: tuple[str, ...]
    prefix_match: bool
    trial_duration: float | None
    parameters: tuple[str, ...]
    null_column: str | None = None
    null_value: float | None = None  # None: a missing value in null_column marks the blank


STIMULI: dict[str, StimulusSpec] = {
    "dg": StimulusSpec(
        "dg",
        "drifting gratings",
        ("drifting_gratings", "drifting_gratings_75_repeats"),
        False,
        2.0,
        ("orientation", "temporal_frequency"),
        "temporal_frequency",
    ),
    "dg_contrast": StimulusSpec(
        "dg",
        "contrast-tuning drifting gratings",
        ("drifting_gratings_contrast",),
        False,
        2.0,
        ("orientation", "contrast"),
    ),
    "sg": StimulusSpec(
        "sg",
        "static gratings",
        ("static_gratings",),
        False,
        0.25,
        ("orientation", "spatial_frequency", "phase"),
        "spatial_frequency",
    ),
    "ns": StimulusSpec(
        "ns",
        "natural scenes",
        ("natural_scenes", "natural_images", "natural images"),
        False,
        0.25,
        ("frame",),
        "frame",
        -1.0,
    ),
    "nm": StimulusSpec(
        "nm",
        "natural movies",
        (
            "natural_movies",
            "natural_movie_1",
            "natural_movie_3",
            "natural_movie_one",
            "natural_movie_three",
        ),
        False,
        None,
        ("frame",),
    ),
    "fl": StimulusSpec("fl", "flashes", ("flash", "flashes"), True, 0.25, ("color",)),
    "rf": StimulusSpec(
        "rf",
        "receptive-field mapping gabors",
        ("receptive_field_mapping", "gabor", "gabors"),
        True,
        0.25,
        ("x_position", "y_position", "orientation"),
    ),
    "dm": StimulusSpec(
        "dm", "dot motion", ("motion_stimulus", "dot_motion"), False, 1.0, ("Dir", "Speed")
    ),
}


def _names_in_order(presentations: pd.DataFrame) -> list[str]:
    """Return the distinct stimulus names of ``presentations`` in table order."""
    if "stimulus_name" not in presentations.columns:
        raise InvalidInputError(
            "presentations have no 'stimulus_name' column; pass the session's "
            "stimulus_presentations table"
        )
    names = pd.unique(presentations["stimulus_name"].dropna())
    return [str(n) for n in names]


def _matches(name: str, spec: StimulusSpec) -> bool:
    """Return True when ``name`` is one of the spec's names (case-insensitive)."""
    lowered = name.lower()
    if spec.prefix_match:
        return any(lowered.startswith(k) for k in spec.names)
    return lowered in spec.names


def find_stimulus_name(presentations: pd.DataFrame, kind: str) -> str | None:
    """Return the first stimulus name (in table order) of stimulus type ``kind``, or None.

    ``kind`` is one of ``dg, dg_contrast, sg, ns, nm, fl, rf, dm``. Names are recognised as the
    reference does (e.g. ``flash...`` for flashes, ``gabor...`` for the receptive-field gabors),
    so VBN's ``flash_250ms`` and ``gabor_20_deg_250ms`` are found too.
    """
    spec = spec_of(kind)
    for name in _names_in_order(presentations):
        if _matches(name, spec):
            return name
    return None


def spec_of(kind: str) -> StimulusSpec:
    """Return the spec of stimulus type ``kind``, raising on an unknown kind."""
    if kind not in STIMULI:
        raise InvalidInputError(f"unknown stimulus type {kind!r}; use one of {', '.join(STIMULI)}")
    return STIMULI[kind]


def resolve_column(presentations: pd.DataFrame, column: str) -> str:
    """Return the column of ``presentations`` holding parameter ``column`` (or an alias)."""
    for candidate in COLUMN_ALIASES.get(column, (column,)):
        if candidate in presentations.columns:
            return candidate
    spelled = " or ".join(repr(c) for c in COLUMN_ALIASES.get(column, (column,)))
    raise InvalidInputError(
        f"presentations have no {spelled} column; columns are {preview(presentations.columns, 30)}"
    )


def _one_repeated_number(value: object) -> float:
    """Return x for a list (or list-like text "[x, x]") of one repeated number, else NaN."""
    if isinstance(value, str):
        parts: list[object] = [p for p in re.split(r"[,\s]+", value.strip().strip("[]()")) if p]
    elif isinstance(value, list | tuple | np.ndarray):
        parts = list(value)
    else:
        return float("nan")
    try:
        numbers = {float(p) for p in parts}  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return float("nan")
    return numbers.pop() if len(numbers) == 1 else float("nan")


def numeric_values(values: pd.Series, column: str) -> np.ndarray:
    """Return ``values`` as float64: numbers, numeric text and lists of one repeated number
    (VCN stores some parameters as ``"[0.25, 0.25]"``) kept, missing spellings NaN."""
    numbers = np.array(pd.to_numeric(values, errors="coerce"), dtype=np.float64)
    bad = []
    for position in np.flatnonzero(np.isnan(numbers) & values.notna().to_numpy()):
        raw = values.iloc[position]
        if str(raw).strip().lower() in _MISSING_TEXT:
            continue
        numbers[position] = _one_repeated_number(raw)
        if np.isnan(numbers[position]):
            bad.append(raw)
    if bad:
        raise InvalidInputError(
            f"column {column!r} holds values that are not numbers: {preview(bad)}; these "
            f"metrics need numeric {column}"
        )
    return numbers


@dataclass(frozen=True)
class StimulusBlock:
    """The presentations of one stimulus, sorted by start time, with their conditions."""

    name: str
    spec: StimulusSpec
    presentation_ids: np.ndarray
    start: np.ndarray
    stop: np.ndarray
    codes: np.ndarray  # condition index (0..C-1) of each presentation
    condition_ids: np.ndarray  # stimulus_condition_id of each condition index, ascending
    values: pd.DataFrame  # parsed parameter values per condition index (float, NaN = missing)
    null: np.ndarray  # True for the blank (null) conditions

    @property
    def n_conditions(self) -> int:
        """Return the number of conditions."""
        return int(self.condition_ids.size)

    @property
    def sizes(self) -> np.ndarray:
        """Return the number of presentations of each condition."""
        return np.bincount(self.codes, minlength=self.n_conditions)

    def members(self, condition: int) -> np.ndarray:
        """Return the positions of the presentations of condition index ``condition``."""
        return np.flatnonzero(self.codes == condition)


def _select_rows(presentations: pd.DataFrame, spec: StimulusSpec, name: str | None) -> str:
    """Return the stimulus name to analyse (given, or detected), checked to be present."""
    names = _names_in_order(presentations)
    if name is None:
        found = find_stimulus_name(presentations, _kind_of(spec))
        if found is None:
            raise InvalidInputError(
                f"presentations hold no {spec.label} (stimulus names like "
                f"{', '.join(spec.names)}); names present are {preview(names, 20)}. "
                "Pass stimulus_name= to choose one"
            )
        return found
    if name not in names:
        raise UnknownIdError(
            f"stimulus name {name!r} has no presentations; names present are {preview(names, 20)}"
        )
    return name


def _kind_of(spec: StimulusSpec) -> str:
    """Return the key of ``spec`` in STIMULI."""
    return next(k for k, v in STIMULI.items() if v is spec)


def _condition_index(rows: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """Return the stimulus_condition_id of each row (given, or numbered from the parameters)."""
    if "stimulus_condition_id" in rows.columns:
        ids = pd.to_numeric(rows["stimulus_condition_id"], errors="coerce")
        if ids.isna().any():
            raise InvalidInputError(
                "stimulus_condition_id has missing or non-numeric values in the selected "
                "presentations; drop those rows or drop the column to number conditions anew"
            )
        return ids.to_numpy(dtype=np.int64)
    ids, _ = stimulus_condition_ids(rows[columns], ignore_columns=())
    return ids.to_numpy(dtype=np.int64)


def _null_mask(spec: StimulusSpec, values: pd.DataFrame) -> np.ndarray:
    """Return True for the blank conditions of ``spec`` (missing value or the blank frame)."""
    if spec.null_column is None:
        return np.zeros(len(values), dtype=bool)
    column = values[spec.null_column].to_numpy()
    if spec.null_value is None:
        blank: np.ndarray = np.isnan(column)
        return blank
    return np.asarray(column == spec.null_value)


def stimulus_block(
    presentations: pd.DataFrame, kind: str, stimulus_name: str | None = None
) -> StimulusBlock:
    """Return the presentations of stimulus type ``kind`` prepared for the metrics."""
    spec = spec_of(kind)
    if not isinstance(presentations, pd.DataFrame):
        raise InvalidInputError(
            f"presentations must be a DataFrame (session.stimulus_presentations), "
            f"got {type(presentations).__name__}"
        )
    name = _select_rows(presentations, spec, stimulus_name)
    rows = presentations[presentations["stimulus_name"] == name]
    rows = rows.iloc[np.argsort(rows["start_time"].to_numpy(dtype=np.float64), kind="stable")]
    start, stop = presentation_windows(rows)
    columns = [resolve_column(rows, c) for c in spec.parameters]
    ids = _condition_index(rows, columns)
    condition_ids, first, codes = np.unique(ids, return_index=True, return_inverse=True)
    values = pd.DataFrame(
        {
            p: numeric_values(rows[c].iloc[first], c)
            for p, c in zip(spec.parameters, columns, strict=True)
        }
    )
    null = _null_mask(spec, values)
    if null.all():
        raise InvalidInputError(f"every {spec.label} presentation is a blank; nothing to analyse")
    return StimulusBlock(
        name, spec, rows.index.to_numpy(), start, stop, codes.reshape(-1), condition_ids, values,
        null,
    )  # fmt: skip


def _running_columns(running_speed: pd.DataFrame) -> tuple[str, str]:
    """Return the (time, speed) columns of a running-speed table (VCN or VBN spelling)."""
    for time_column, speed_column in (("start_time", "velocity"), ("timestamps", "speed")):
        if {time_column, speed_column} <= set(running_speed.columns):
            return time_column, speed_column
    raise InvalidInputError(
        "running_speed needs columns start_time and velocity (VCN session.running_speed) or "
        f"timestamps and speed (VBN); columns are {preview(running_speed.columns)}"
    )


def mean_running_speed(
    running_speed: pd.DataFrame | None, start: np.ndarray, stop: np.ndarray
) -> np.ndarray:
    """Return the mean speed of the samples timed in [start, stop) of each presentation.

    Samples with NaN speed are skipped; a presentation without samples gets NaN. Without a
    running-speed table every value is NaN.
    """
    if running_speed is None:
        return np.full(start.size, np.nan)
    if not isinstance(running_speed, pd.DataFrame):
        raise InvalidInputError("running_speed must be a DataFrame (session.running_speed)")
    time_column, speed_column = _running_columns(running_speed)
    times = running_speed[time_column].to_numpy(dtype=np.float64)
    speeds = running_speed[speed_column].to_numpy(dtype=np.float64)
    order = np.argsort(times, kind="stable")
    times, speeds = times[order], speeds[order]
    finite = np.isfinite(speeds)
    first = np.searchsorted(times, start, side="left")
    last = np.searchsorted(times, stop, side="left")
    n = np.add.reduceat(np.append(finite, False).astype(np.int64), _pairs(first, last))[::2]
    sums = np.add.reduceat(np.append(np.where(finite, speeds, 0.0), 0.0), _pairs(first, last))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where((last > first) & (n > 0), sums[::2] / n, np.nan)


def _pairs(first: np.ndarray, last: np.ndarray) -> np.ndarray:
    """Return interleaved [first0, last0, first1, ...] indices for ``np.add.reduceat``."""
    return np.column_stack((first, last)).reshape(-1)
