"""Read a metadata group (subject, lab metadata, task parameters, devices) as one dict."""

from __future__ import annotations

from typing import Any

import h5py

from brainobs.nwb.decode import decode_value, read_values
from brainobs.nwb.handle import NwbFile

#: HDF5 attributes that describe the NWB schema, not the data.
BOOKKEEPING_ATTRS = frozenset({"namespace", "neurodata_type", "object_id"})
#: Datasets larger than this (elements) are left out of :func:`read_fields`.
MAX_FIELD_SIZE = 4096


def read_fields(file: NwbFile, path: str, include_bookkeeping: bool = False) -> dict[str, Any]:
    """Return a group's attributes and small datasets by name, decoded.

    Text comes back as ``str``, text arrays (list-valued fields such as ``driver_line``) as
    lists of ``str``, numeric scalars as Python numbers, other arrays as numpy arrays.
    Subgroups and datasets over :data:`MAX_FIELD_SIZE` values are left out.
    """
    fields = {
        name: value
        for name, value in file.attrs(path).items()
        if include_bookkeeping or name not in BOOKKEEPING_ATTRS
    }
    group = file.group(path)
    with file.reading(f"fields of {path}"):
        for name, member in group.items():
            if isinstance(member, h5py.Dataset) and member.size <= MAX_FIELD_SIZE:
                fields[name] = _dataset_value(member, file)
    return fields


def _dataset_value(dataset: h5py.Dataset, file: NwbFile) -> Any:
    """Return a small dataset's value: a Python scalar, a list of text, or an array."""
    values = read_values(dataset, (), file.ref_name)
    if values.ndim == 0:
        return decode_value(values[()], file.ref_name)
    return decode_value(values, file.ref_name)
