"""Row filters: reference semantics, with zero thresholds and NaN metrics fixed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from brainobs.errors import InvalidInputError
from brainobs.tables import (
    filter_abnormal_sessions,
    filter_expression,
    filter_units,
    filter_valid_channels,
)
from brainobs.vcn.units import DEFAULT_UNIT_FILTERS as VCN_DEFAULT_UNIT_FILTERS

NAN = np.nan


@pytest.fixture
def units() -> pd.DataFrame:
    """Return six units covering zero, NaN, quality and validity cases."""
    return pd.DataFrame(
        {
            "amplitude_cutoff": [0.0, 0.05, 0.5, NAN, 0.0, 0.2],
            "presence_ratio": [0.99, 0.0, 0.96, 0.97, NAN, 0.99],
            "isi_violations": [0.0, 0.1, 2.0, 0.3, 0.1, NAN],
            "quality": ["good", "good", "noise", "good", "good", "good"],
            "valid_data": [True, True, True, False, True, True],
            "structure_acronym": ["VISp", None, "CA1", "LP", "VISl", "VISp"],
        },
        index=pd.Index([11, 12, 13, 14, 15, 16], name="unit_id"),
    )


def test_no_filters_keep_every_unit_even_with_nan_metrics(units: pd.DataFrame) -> None:
    out = filter_units(units)
    pd.testing.assert_frame_equal(out, units)  # reference would drop units 14, 15 and 16


def test_infinite_thresholds_disable_filters(units: pd.DataFrame) -> None:
    out = filter_units(
        units,
        amplitude_cutoff_maximum=np.inf,
        presence_ratio_minimum=-np.inf,
        isi_violations_maximum=np.inf,
    )
    assert out.index.tolist() == units.index.tolist()


def test_zero_is_a_real_threshold(units: pd.DataFrame) -> None:
    # the reference treats 0 as "no filter" (``0 or np.inf``); brainobs keeps cutoff <= 0
    assert filter_units(units, amplitude_cutoff_maximum=0).index.tolist() == [11, 15]
    assert filter_units(units, isi_violations_maximum=0.0).index.tolist() == [11]
    # presence_ratio >= 0 keeps every unit with a presence ratio, drops only the NaN one
    assert filter_units(units, presence_ratio_minimum=0).index.tolist() == [11, 12, 13, 14, 16]


def test_nan_dropped_only_by_its_own_active_filter(units: pd.DataFrame) -> None:
    out = filter_units(units, amplitude_cutoff_maximum=0.1)
    assert out.index.tolist() == [11, 12, 15]  # 14 (NaN cutoff) dropped; 15, 16 NaN elsewhere
    out = filter_units(units, isi_violations_maximum=0.5)
    assert 16 not in out.index and 14 in out.index and 15 in out.index


def test_vcn_defaults(units: pd.DataFrame) -> None:
    out = filter_units(units, **VCN_DEFAULT_UNIT_FILTERS)
    assert out.index.tolist() == [11]


def test_validity_and_out_of_brain(units: pd.DataFrame) -> None:
    out = filter_units(units, filter_by_validity=True)
    assert out.index.tolist() == [11, 12, 15, 16] and "quality" not in out.columns
    assert "quality" in units.columns  # the input is untouched
    out = filter_units(units, filter_out_of_brain_units=True)
    assert out.index.tolist() == [11, 13, 14, 15, 16]


def test_bad_thresholds_and_missing_columns(units: pd.DataFrame) -> None:
    with pytest.raises(InvalidInputError, match="amplitude_cutoff_maximum is NaN"):
        filter_units(units, amplitude_cutoff_maximum=NAN)
    with pytest.raises(InvalidInputError, match="must be a number"):
        filter_units(units, presence_ratio_minimum="high")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match=r"lacks column\(s\) \['quality'\]"):
        filter_units(units.drop(columns="quality"), filter_by_validity=True)


def test_filter_abnormal_sessions() -> None:
    sessions = pd.DataFrame(
        {
            "abnormal_histology": [None, ["Thalamus"], None, None],
            "abnormal_activity": [None, None, [8899.0], NAN],
        },
        index=pd.Index([1, 2, 3, 4], name="ecephys_session_id"),
    )
    assert filter_abnormal_sessions(sessions).index.tolist() == [1, 4]
    text = sessions.astype(str).replace({"None": NAN, "nan": NAN})  # reference: list-repr text
    assert filter_abnormal_sessions(text).index.tolist() == [1, 4]


@pytest.mark.parametrize(
    "flags",
    [[True, False, True], [1.0, 0.0, 1.0], ["True", "False", "True"]],
)
def test_filter_valid_channels(flags: list[object]) -> None:
    channels = pd.DataFrame({"valid_data": flags, "x": [1, 2, 3]})
    out = filter_valid_channels(channels)
    assert out["x"].tolist() == [1, 3] and "valid_data" not in out.columns
    assert "valid_data" in filter_valid_channels(channels, drop_column=False).columns


def test_filter_expression(units: pd.DataFrame) -> None:
    out = filter_expression(units, "structure_acronym == 'VISp' and presence_ratio > 0.9")
    assert out.index.tolist() == [11, 16]
    assert filter_expression(units, "unit_id > 14").index.tolist() == [15, 16]
    with pytest.raises(InvalidInputError, match=r"no_such_column.*structure_acronym"):
        filter_expression(units, "no_such_column > 1")
    with pytest.raises(
        InvalidInputError, match="at character 6: expected a column name or a value, found '>'"
    ):
        filter_expression(units, "snr >>> 2")
    with pytest.raises(InvalidInputError, match="empty"):
        filter_expression(units, "  ")
