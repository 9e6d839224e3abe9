"""The releases brainobs serves, each declared once: the registry every layer reads.

A declaration says where a release's files live (bucket, project prefix, layout, DANDI
dandisets) and where its code lives: its home package (``brainobs.vbn``...) and, in it, the
project cache class, the session classes, the report kinds, the sample writer and the demo
tour, named as ``"module:attribute"`` the way fsspec's ``known_implementations`` and Python
entry points name objects. This module is the bottom layer: it imports no home, and
:meth:`Release.load` imports a named object only when it is asked for, so the command line, the
report and ``from_sample`` find a release's classes here without importing upward.

Adding a release means adding its home and one :class:`Release` to :data:`RELEASES`
(docs/architecture.md, "Adding a release").
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from brainobs.errors import InvalidInputError, UnknownReleaseError

#: Bucket layouts: a cloud cache has versioned manifests with hashes under
#: ``<project>/manifests/``; a warehouse cache tree (Visual Coding) has a ``manifest.json`` of
#: paths and no hashes.
LAYOUTS = ("cloud_cache", "warehouse")


@dataclass(frozen=True)
class Release:
    """One release: where its files are, and the ``"module:attribute"`` names of its code.

    ``project_name`` is the first component of every key in the bucket and the prefix of the
    local cache folder (``{project_name}-{manifest_version}``). ``report_kinds`` maps each
    report kind the release's sessions declare (their ``report_kind``) to its sections.
    ``dandi_mapping`` names how its data files are found among the assets of its
    ``dandisets`` on the DANDI Archive (:class:`brainobs.storage.dandi_cache.DandiMapping`).
    ``dropin_cache_class`` is the cache of the AllenSDK drop-in flavour
    (``from brainobs.allensdk import ...``: the reference toolkit's tables and returns) and
    ``dropin_session_classes`` the sessions it opens.
    ``tree_prefix`` (warehouse layout) is the bucket prefix of its cache folder (the folder
    with the path ``manifest.json``), also where the local cache keeps it under its root.
    """

    name: str
    title: str
    bucket: str
    project_name: str
    metadata_tables: tuple[str, ...]
    home: str
    cache_class: str
    session_classes: tuple[str, ...] = ()
    report_kinds: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    sample_writer: str | None = None
    tour: str | None = None
    summaries: str | None = None
    dropin_cache_class: str | None = None
    dropin_session_classes: tuple[str, ...] = ()
    layout: str = "cloud_cache"
    region: str = "us-west-2"
    dandisets: tuple[str, ...] = ()
    dandi_mapping: str | None = None
    tree_prefix: str | None = None

    def __post_init__(self) -> None:
        if self.layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {LAYOUTS}, not {self.layout!r}")
        if (self.layout == "warehouse") != (self.tree_prefix is not None):
            raise ValueError("a warehouse layout names its tree_prefix (and only it does)")
        object.__setattr__(self, "report_kinds", MappingProxyType(dict(self.report_kinds)))

    @property
    def https_root(self) -> str:
        """Return the public HTTPS address of the bucket."""
        return f"https://{self.bucket}.s3.{self.region}.amazonaws.com"

    def load(self, target: str) -> Any:
        """Return the object a ``"module:attribute"`` name of this declaration points to."""
        module_name, _, attribute = target.partition(":")
        return getattr(importlib.import_module(module_name), attribute)

    @property
    def is_available(self) -> bool:
        """Return whether the release's code has landed (its cache module exists)."""
        module_name = self.cache_class.partition(":")[0]
        try:
            return importlib.util.find_spec(module_name) is not None
        except ModuleNotFoundError:  # its home package is not there at all
            return False

    def load_cache_class(self) -> Any:
        """Return the release's project cache class; raise if its code has not landed."""
        if not self.is_available:
            raise InvalidInputError(f"{self.title} is not available in this brainobs yet.")
        return self.load(self.cache_class)

    def load_session_classes(self) -> tuple[type, ...]:
        """Return the release's session classes."""
        return tuple(self.load(name) for name in self.session_classes)

    def load_dropin_classes(self) -> tuple[type, ...]:
        """Return the drop-in flavour's cache class and session classes (none if it has none)."""
        names = (self.dropin_cache_class, *self.dropin_session_classes)
        return tuple(self.load(name) for name in names if name is not None)

    def load_sample_writer(self) -> Any:
        """Return the function writing the release's sample; raise if it has none yet."""
        if self.sample_writer is None:
            raise InvalidInputError(f"brainobs has no sample release of {self.title} yet.")
        return self.load(self.sample_writer)

    def load_summaries(self) -> Any:
        """Return the release's dataset-wide summaries (a ``brainobs.summaries.SummarySet``)."""
        if self.summaries is None or not self.is_available:
            raise InvalidInputError(
                f"brainobs has no dataset-wide summaries of {self.title} yet; releases with "
                f"summaries: {', '.join(r.name for r in available_releases() if r.summaries)}."
            )
        return self.load(self.summaries)


VBN = Release(
    name="vbn",
    title="Visual Behavior Neuropixels",
    bucket="visual-behavior-neuropixels-data",
    project_name="visual-behavior-neuropixels",
    metadata_tables=("ecephys_sessions", "behavior_sessions", "units", "probes", "channels"),
    home="brainobs.vbn",
    cache_class="brainobs.vbn.cache:VisualBehaviorNeuropixelsProjectCache",
    session_classes=(
        "brainobs.vbn.session:BehaviorEcephysSession",
        "brainobs.sessions.behavior:BehaviorSession",
    ),
    report_kinds={"vbn_ecephys": "brainobs.vbn.report:ECEPHYS_SECTIONS"},
    sample_writer="brainobs.vbn.sample_release:write_vbn_release",
    tour="brainobs.vbn.tour:tour",
    summaries="brainobs.vbn.summary:SUMMARIES",
    dropin_cache_class="brainobs.vbn.dropin:VisualBehaviorNeuropixelsProjectCache",
    dropin_session_classes=(
        "brainobs.vbn.dropin:BehaviorEcephysSession",
        "brainobs.vbn.dropin:BehaviorSession",
    ),
    dandisets=("000713",),
    dandi_mapping="brainobs.vbn.dandi:VBN_ON_DANDI",
)

VBO = Release(
    name="vbo",
    title="Visual Behavior Optical Physiology",
    bucket="visual-behavior-ophys-data",
    project_name="visual-behavior-ophys",
    metadata_tables=(
        "behavior_session_table",
        "ophys_session_table",
        "ophys_experiment_table",
        "ophys_cells_table",
    ),
    home="brainobs.vbo",
    cache_class="brainobs.vbo.cache:VisualBehaviorOphysProjectCache",
    session_classes=(
        "brainobs.vbo.experiment:BehaviorOphysExperiment",
        "brainobs.sessions.behavior:BehaviorSession",
    ),
    report_kinds={"vbo_ophys": "brainobs.vbo.report:OPHYS_SECTIONS"},
    sample_writer="brainobs.vbo.sample_release:write_vbo_release",
    tour="brainobs.vbo.tour:tour",
    summaries="brainobs.vbo.summary:SUMMARIES",
)

VCN = Release(
    name="vcn",
    title="Visual Coding Neuropixels",
    bucket="allen-brain-observatory",
    project_name="visual-coding-neuropixels",
    metadata_tables=("sessions", "probes", "channels", "units"),
    home="brainobs.vcn",
    cache_class="brainobs.vcn.cache:EcephysProjectCache",
    session_classes=("brainobs.vcn.session:EcephysSession",),
    report_kinds={"vcn_ecephys": "brainobs.vcn.report:ECEPHYS_SECTIONS"},
    sample_writer="brainobs.vcn.sample_release:write_vcn_release",
    tour="brainobs.vcn.tour:tour",
    summaries="brainobs.vcn.summary:SUMMARIES",
    layout="warehouse",
    tree_prefix="visual-coding-neuropixels/ecephys-cache",
    dandisets=("000021", "000022"),
    dandi_mapping="brainobs.vcn.dandi:VCN_ON_DANDI",
)

#: Every release brainobs knows, by short name (the name the command line takes).
RELEASES: Mapping[str, Release] = MappingProxyType({r.name: r for r in (VBN, VBO, VCN)})


def get_release(name: str) -> Release:
    """Return the release called ``name`` (``vbn``, ``vbo`` or ``vcn``)."""
    try:
        return RELEASES[name.lower()]
    except (KeyError, AttributeError):
        known = ", ".join(sorted(RELEASES))
        raise UnknownReleaseError(f"Unknown release {name!r}. Known releases: {known}.") from None


def available_releases() -> list[Release]:
    """Return the releases whose code has landed, in declaration order."""
    return [r for r in RELEASES.values() if r.is_available]
