"""Metadata groups read as dicts, whatever way their values were stored."""

from __future__ import annotations

import numpy as np

from brainobs.nwb import NwbFile, read_fields


def test_subject_fields(any_session: NwbFile) -> None:
    subject = read_fields(any_session, "/general/subject")
    assert subject["subject_id"] == "mouse1"
    assert subject["age"] == "P100D" and subject["species"] == "Mus musculus"
    assert "object_id" not in subject and "neurodata_type" not in subject
    assert "neurodata_type" in read_fields(
        any_session, "/general/subject", include_bookkeeping=True
    )


def test_lab_metadata_variants(variants: dict) -> None:
    with NwbFile.open(variants["path"]) as nwb:
        meta = read_fields(nwb, "/general/metadata")
    assert meta["behavior_session_id"] == 1064666666 and isinstance(
        meta["behavior_session_id"], int
    )
    assert meta["stimulus_frame_rate"] == 60.0
    assert meta["session_type"] == "EPHYS_1_images_G_3uL_reward"  # bytes attribute
    assert meta["blank_duration_sec"] == ["0.5", "0.5"]  # fixed-length bytes array
    assert meta["driver_line"] == ["Sst-IRES-Cre"]  # variable-length string array
    assert meta["has_lfp"] is True
    assert meta["equipment_name"] == "NP.1"  # scalar string dataset
    np.testing.assert_array_equal(meta["monitor_position"], [1.0, 2.0, 3.0])
    assert "big" not in meta  # large datasets are left out
