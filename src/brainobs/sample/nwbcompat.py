"""Make a freshly written NWB file cache the schema versions of the released files.

Today's pynwb caches NWB core 2.11 (hdmf-common 1.10) and marks the electrodes table with the
``ElectrodesTable`` type, which older cores do not know. The reference toolkit reads with
pynwb 2.8 (core 2.7.0) and fails on that type. The released files cache an older core: VBN
core 2.5.0 with hdmf-common 1.5.1, VCN core 2.2.2 with hdmf-common 1.1.3
(:data:`CORE_SPEC_FILES`). After pynwb has written a file brainobs rewrites it to look like them:

1. every object whose type is newer than the target core is retagged with the type it
   specialises (``ElectrodesTable`` -> ``hdmf-common`` ``DynamicTable``, and for core 2.2.2
   ``TimeSeriesReferenceVectorData`` -> ``VectorData``: how the older cores store them);
2. the cached ``core``, ``hdmf-common`` (and ``hdmf-experimental``) schemas are the ones
   shipped in ``specs/nwb-<version>-cached-specs.json`` (pynwb writes the file without cached
   specs; they and the extension namespaces the file uses are cached here once);
3. the root ``nwb_version`` attribute becomes the target version.

Readers load their own core namespace and ignore a cached one of the same name, so both the
reference's pynwb 2.8 and today's pynwb open the result (see tests/sample/test_compat.py).
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import h5py

from brainobs.errors import InvalidInputError
from brainobs.sample.nwbext import NAMESPACES, load_extensions, shared_type_map, spec_dir

#: The default target: the core version the VBN files cache.
NWB_VERSION = "2.5.0"
#: Target core version -> the shipped file of its core and hdmf schemas.
CORE_SPEC_FILES: dict[str, str] = {
    "2.5.0": "nwb-2.5.0-cached-specs.json",  # + hdmf-common 1.5.1, hdmf-experimental 0.2.0
    "2.2.2": "nwb-2.2.2-cached-specs.json",  # + hdmf-common 1.1.3
}

#: Types written by today's pynwb that an older core lacks -> (namespace, type) stored instead.
RETAGGED_TYPES: dict[str, tuple[str, str]] = {
    "ElectrodesTable": ("hdmf-common", "DynamicTable"),
    "TimeSeriesReferenceVectorData": ("hdmf-common", "VectorData"),
}


@functools.cache
def cached_specs(version: str = NWB_VERSION) -> dict[str, Any]:
    """Return the shipped core and hdmf specs of NWB core ``version``."""
    if version not in CORE_SPEC_FILES:
        known = ", ".join(sorted(CORE_SPEC_FILES))
        raise InvalidInputError(
            f"brainobs ships no cached specs of NWB core {version!r}; pass one of: {known}"
        )
    text = (spec_dir() / CORE_SPEC_FILES[version]).read_text(encoding="utf-8")
    return dict(json.loads(text))


@functools.cache
def core_type_names(version: str = NWB_VERSION) -> frozenset[str]:
    """Return every neurodata type defined by the shipped core and hdmf namespaces."""
    names: set[str] = set()
    for entry in cached_specs(version).values():
        for source in entry["sources"].values():
            for kind in ("groups", "datasets"):
                for spec in source.get(kind, []):
                    _collect_type_defs(spec, names)
    return frozenset(names)


def _collect_type_defs(spec: dict[str, Any], names: set[str]) -> None:
    """Add the type defined by ``spec`` and by its nested specs to ``names``."""
    for key in ("neurodata_type_def", "data_type_def"):
        if key in spec:
            names.add(spec[key])
    for kind in ("groups", "datasets"):
        for sub in spec.get(kind, []):
            _collect_type_defs(sub, names)


def downgrade_to_core(
    path: str | Path, version: str = NWB_VERSION, namespaces: tuple[str, ...] | None = None
) -> None:
    """Rewrite the NWB file at ``path`` in place to cache and use core ``version`` only.

    ``namespaces``: the extension namespaces to cache (default: the VBN files' four).
    """
    with h5py.File(path, "r+") as h5:
        _retag_types(h5, version)
        _replace_cached_specs(h5, version, tuple(NAMESPACES) if namespaces is None else namespaces)
        h5.attrs["nwb_version"] = version


def downgrade_to_core_250(path: str | Path, namespaces: tuple[str, ...] | None = None) -> None:
    """Rewrite the NWB file at ``path`` in place to cache and use core 2.5.0 only."""
    downgrade_to_core(path, "2.5.0", namespaces)


def _retag_types(h5: h5py.File, version: str) -> None:
    """Retag objects of types newer than core ``version``; raise if one has no mapping."""
    known = core_type_names(version)
    core_like = {"core", "hdmf-common", "hdmf-experimental"}

    def visit(name: str, obj: Any) -> None:
        ns = _text(obj.attrs.get("namespace", ""))
        dtype = _text(obj.attrs.get("neurodata_type", ""))
        if ns not in core_like or not dtype or dtype in known:
            return
        if dtype not in RETAGGED_TYPES:
            raise ValueError(
                f"{name}: type {ns}.{dtype} is newer than NWB core {version}; add it to "
                "brainobs.sample.nwbcompat.RETAGGED_TYPES"
            )
        new_ns, new_type = RETAGGED_TYPES[dtype]
        obj.attrs["namespace"] = new_ns
        obj.attrs["neurodata_type"] = new_type

    h5.visititems(visit)


def _replace_cached_specs(h5: h5py.File, version: str, namespaces: tuple[str, ...]) -> None:
    """Cache the shipped core/hdmf schemas of ``version`` and the extension ``namespaces``.

    Files are written without cached specs (``cache_spec=False``) and get them here once:
    replacing specs pynwb had cached would leave their bytes as dead space in the file.
    """
    specs = h5.require_group("specifications")
    h5.attrs[".specloc"] = specs.ref
    string = h5py.string_dtype()
    for ns_name, entry in sorted(cached_specs(version).items()):
        if ns_name in specs:
            del specs[ns_name]
        group = specs.create_group(f"{ns_name}/{entry['version']}")
        group.create_dataset("namespace", data=json.dumps(entry["namespace"]), dtype=string)
        for source, doc in sorted(entry["sources"].items()):
            group.create_dataset(source, data=json.dumps(doc), dtype=string)
    _cache_extension_specs(specs, namespaces)


def _cache_extension_specs(specs: h5py.Group, namespaces: tuple[str, ...]) -> None:
    """Cache extension ``namespaces`` as pynwb does (one JSON dataset per source file)."""
    from hdmf.backends.hdf5.h5_utils import H5SpecWriter
    from hdmf.backends.utils import NamespaceToBuilderHelper

    catalog = shared_type_map().namespace_catalog
    known = set(load_extensions())
    for ns_name in sorted(namespaces):
        if ns_name not in known:
            raise ValueError(f"{ns_name} is not a shipped extension namespace: {sorted(known)}")
        version = catalog.get_namespace(ns_name).version
        if f"{ns_name}/{version}" in specs:
            continue
        builder = NamespaceToBuilderHelper.convert_namespace(catalog, ns_name)
        builder.export("namespace", writer=H5SpecWriter(specs.create_group(f"{ns_name}/{version}")))


def _text(value: Any) -> str:
    """Return an HDF5 attribute value as text."""
    return value.decode() if isinstance(value, bytes) else str(value)
