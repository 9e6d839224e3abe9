"""``EcephysProjectCache``: the Visual Coding Neuropixels release, with the reference's API.

The release is a warehouse-layout cache folder (a path ``manifest.json``, the tables, one
folder per session; :mod:`brainobs.storage.tree_cache`), filled from one of the routes the
release's documentation describes:

* :meth:`EcephysProjectCache.from_warehouse` -- the Allen Institute warehouse's RMA queries
  (:mod:`brainobs.vcn.warehouse`), the reference's default;
* :meth:`EcephysProjectCache.from_s3_cache` -- the public bucket's ``ecephys-cache`` tree
  (``endpoint=`` or ``$BRAINOBS_S3_ENDPOINT`` for a mirror; ``stream=True`` reads NWB files
  by byte ranges);
* ``EcephysProjectCache(manifest=...)`` / :meth:`EcephysProjectCache.fixed` -- an existing
  folder, one an AllenSDK install made included, reused as it is;
* :meth:`EcephysProjectCache.from_sample` -- brainobs's built-in sample release.

Tables, names and defaults are the reference's (reference/format_ecephys.md §2.2); the
differences are in docs/differences.md ("Visual Coding Neuropixels").
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from brainobs.errors import FileNotInCacheError, InvalidInputError, UnknownIdError
from brainobs.nwb import NwbFile
from brainobs.releases import VCN, Release
from brainobs.sessions.lfp import LfpFiles
from brainobs.sessions.project_cache import ProjectCache
from brainobs.storage.remote import BlockCacheOptions
from brainobs.storage.tree_cache import TreeCache
from brainobs.storage.tree_sources import TreeSource
from brainobs.tables.cache import load_table_cached
from brainobs.tables.schemas import TableSchema
from brainobs.types import PathLike
from brainobs.vcn import cache_tables as ct
from brainobs.vcn.cache_routes import FIXED, CacheRoutes
from brainobs.vcn.layout import CACHE_MANIFEST, MANIFEST_VERSION
from brainobs.vcn.schemas import SESSION_TYPES, VCN_SCHEMAS
from brainobs.vcn.session import EcephysSession
from brainobs.vcn.templates import read_natural_movie, read_natural_scene
from brainobs.vcn.units import DEFAULT_UNIT_FILTERS, unit_thresholds
from brainobs.vcn.warehouse import WarehouseSource

#: The reference's default manifest path (relative to the working folder).
DEFAULT_MANIFEST = "ecephys_project_manifest.json"
CHANNEL_SUBSTITUTES = (
    "ecephys_structure_id", "ecephys_structure_acronym", "anterior_posterior_ccf_coordinate",
    "dorsal_ventral_ccf_coordinate", "left_right_ccf_coordinate",
)  # fmt: skip


class EcephysProjectCache(CacheRoutes, ProjectCache):
    """Visual Coding Neuropixels: 58 sessions, their probes, channels, units and metrics.

    ``EcephysProjectCache(manifest=path)`` keeps the cache folder of ``path`` and fills it from
    ``fetch_api`` (a tree source; default: the warehouse, as the reference). Construct with
    :meth:`from_warehouse`, :meth:`from_s3_cache`, :meth:`fixed` or :meth:`from_sample`.
    ``fetch_tries`` and ``stream_writer`` are accepted for compatibility; downloads are
    retried and verified by brainobs's own transfer settings.
    """

    RELEASE: ClassVar[Release] = VCN
    SCHEMAS: ClassVar[dict[str, TableSchema]] = VCN_SCHEMAS
    MANIFEST_VERSION: ClassVar[str] = MANIFEST_VERSION
    SUPPRESS_FROM_UNITS: ClassVar[tuple[str, ...]] = ct.SUPPRESS_FROM_UNITS
    SUPPRESS_FROM_CHANNELS: ClassVar[tuple[str, ...]] = ct.SUPPRESS_FROM_CHANNELS
    SUPPRESS_FROM_PROBES: ClassVar[tuple[str, ...]] = ct.SUPPRESS_FROM_PROBES
    SUPPRESS_FROM_SESSION_TABLE: ClassVar[tuple[str, ...]] = ct.SUPPRESS_FROM_SESSION_TABLE

    def __init__(
        self,
        fetch_api: TreeSource | object | None = None,
        fetch_tries: int = 2,
        stream_writer: Any = None,
        manifest: PathLike | None = None,
        version: str | None = None,
        cache: bool = True,
        *,
        show_progress: bool = True,
        cache_dir: PathLike | None = None,
    ) -> None:
        if not cache:
            raise InvalidInputError(
                "cache=False is not supported: brainobs reads every file through its verified "
                "cache folder. Pass a manifest path in a folder you can write."
            )
        if version is not None and version != MANIFEST_VERSION:
            raise InvalidInputError(
                f"version={version!r}: the Visual Coding Neuropixels cache manifest is "
                f"version {MANIFEST_VERSION}."
            )
        source: Any = WarehouseSource() if fetch_api is None else fetch_api
        tree = TreeCache(
            manifest or DEFAULT_MANIFEST,
            None if source is FIXED else source,
            CACHE_MANIFEST,
            show_progress=show_progress,
            cache_dir=cache_dir,
        )
        super().__init__(tree)  # type: ignore[arg-type]
        #: The cache folder and its source (``fetch_api`` is the same object).
        self.tree = tree
        tree.manifest  # noqa: B018  (read and check it, or write the default, now)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.tree!r})"

    # --- the manifest methods of versioned releases -----------------------------------------
    def _no_versions(self) -> InvalidInputError:
        """Return the error for a manifest-version method: this release has no versions."""
        return InvalidInputError(
            "Visual Coding Neuropixels has no versioned manifests: its cache folder holds a "
            f"path manifest ({self.tree.manifest_path})."
        )

    def list_manifest_file_names(self) -> list[str]:
        """Raise: this release has no versioned manifests."""
        raise self._no_versions()

    def latest_manifest_file(self) -> str:
        """Raise: this release has no versioned manifests."""
        raise self._no_versions()

    def current_manifest(self) -> str:
        """Raise: this release has no versioned manifests."""
        raise self._no_versions()

    def load_manifest(self, manifest_name: str) -> Any:
        """Raise: this release has no versioned manifests."""
        raise self._no_versions()

    def load_latest_manifest(self) -> Any:
        """Raise: this release has no versioned manifests."""
        raise self._no_versions()

    def compare_manifests(self, manifest_0_name: str, manifest_1_name: str) -> str:
        """Raise: this release has no versioned manifests."""
        raise self._no_versions()

    def get_cache_path(self, file_name: str | None, manifest_key: str, *args: Any) -> str:
        """Return the absolute path of ``manifest_key`` filled with ``args`` (reference name)."""
        if file_name:
            return file_name
        return str(self.tree.local_path(self.tree.path_of(manifest_key, *args)))

    # --- raw tables --------------------------------------------------------------------------
    def _table(self, name: str) -> pd.DataFrame:
        """Return table ``name`` (fetched, checked and parsed once, then cached)."""
        if name not in self._tables:
            key = name if name in ("sessions", "probes", "channels", "units") else None
            relative = (
                self.tree.path_of(key)
                if key
                else self.tree.path_of("typewise_analysis_metrics", _session_type(name))
            )
            csv = self.tree.fetch(relative)
            self._tables[name] = load_table_cached(
                csv, self.SCHEMAS[name], cache_dir=self.tree.tables_dir
            )
        return self._tables[name].copy()

    def _probes(self) -> pd.DataFrame:
        return ct.probes_with_lfp_rates(self._table("probes"))

    def _annotated_probes(self) -> pd.DataFrame:
        return ct.annotated_probes(self._probes(), self._table("sessions"))

    def _annotated_channels(self) -> pd.DataFrame:
        return ct.annotated_channels(self._table("channels"), self._annotated_probes())

    def _annotated_units(self, filter_by_validity: bool = True, **filters: Any) -> pd.DataFrame:
        units = ct.filtered_units(
            self._table("units"), filter_by_validity, unit_thresholds(**filters)
        )
        return ct.annotated_units(units, self._annotated_channels())

    # --- tables (reference names) ------------------------------------------------------------
    def get_session_table(self, suppress: Iterable[str] | None = None) -> pd.DataFrame:
        """Return the sessions indexed by ``id``, with unit/channel/probe counts and structures.

        ``unit_count`` counts the units passing the default filters.
        """
        sessions = self._table("sessions")
        channels = self._annotated_channels()
        key = "ecephys_session_id"
        sessions = ct.count_owned(sessions, self._annotated_units(), key, "unit_count")
        sessions = ct.count_owned(sessions, channels, key, "channel_count")
        sessions = ct.count_owned(sessions, self._annotated_probes(), key, "probe_count")
        sessions = ct.grouped_uniques(
            sessions, channels, key, "ecephys_structure_acronym", "ecephys_structure_acronyms"
        )
        suppress = self.SUPPRESS_FROM_SESSION_TABLE if suppress is None else suppress
        return ct.drop_columns(sessions, suppress).rename(columns={"genotype": "full_genotype"})

    def get_probes(self, suppress: Iterable[str] | None = None) -> pd.DataFrame:
        """Return the probes indexed by ``id``, with unit/channel counts and structures."""
        probes = self._annotated_probes()
        channels = self._annotated_channels()
        key = "ecephys_probe_id"
        probes = ct.count_owned(probes, self._annotated_units(), key, "unit_count")
        probes = ct.count_owned(probes, channels, key, "channel_count")
        probes = ct.grouped_uniques(
            probes, channels, key, "ecephys_structure_acronym", "ecephys_structure_acronyms"
        )
        return ct.drop_columns(probes, self.SUPPRESS_FROM_PROBES if suppress is None else suppress)

    def get_channels(self, suppress: Iterable[str] | None = None) -> pd.DataFrame:
        """Return the channels indexed by ``id``, with their probe's and session's columns."""
        channels = self._annotated_channels()
        channels = ct.count_owned(
            channels, self._annotated_units(), "ecephys_channel_id", "unit_count"
        )
        suppress = self.SUPPRESS_FROM_CHANNELS if suppress is None else suppress
        return ct.drop_columns(channels, suppress).rename(columns={"name": "probe_name"})

    def get_units(
        self,
        suppress: Iterable[str] | None = None,
        filter_by_validity: bool = True,
        **unit_filter_kwargs: Any,
    ) -> pd.DataFrame:
        """Return the units indexed by ``id``, annotated with channel, probe and session.

        Default filters: ``quality == "good"``, amplitude_cutoff <= 0.1, presence_ratio >=
        0.95, isi_violations <= 0.5; override each with its keyword (None: off).
        """
        units = self._annotated_units(filter_by_validity, **unit_filter_kwargs)
        return ct.drop_columns(units, self.SUPPRESS_FROM_UNITS if suppress is None else suppress)

    def get_unit_analysis_metrics_by_session_type(
        self,
        session_type: str,
        annotate: bool = True,
        filter_by_validity: bool = True,
        **unit_filter_kwargs: Any,
    ) -> pd.DataFrame:
        """Return the analysis metrics of the units of ``session_type``'s sessions.

        With ``annotate`` they are joined with :meth:`get_units` (same filters), index
        ``ecephys_unit_id``.
        """
        known = self.get_all_session_types()
        if session_type not in known:
            raise InvalidInputError(
                f"unrecognized session type: {session_type!r}. Available types: {known}"
            )
        metrics = self._table(f"{session_type}_analysis_metrics")
        return self._annotate(metrics, annotate, filter_by_validity, None, unit_filter_kwargs)

    def get_unit_analysis_metrics_for_session(
        self,
        session_id: int,
        annotate: bool = True,
        filter_by_validity: bool = True,
        **unit_filter_kwargs: Any,
    ) -> pd.DataFrame:
        """Return the analysis metrics of one session's units (joined with its units when
        ``annotate``). They come from the session's file when the folder has one, else from
        its session type's table."""
        row = self._session_row(session_id)
        local = self.tree.path_of("session_analysis_metrics", int(session_id), int(session_id))
        if self.tree.local_path(local).is_file():
            csv = self.tree.fetch(local)
            schema = self.SCHEMAS[f"{row['session_type']}_analysis_metrics"]
            metrics = load_table_cached(csv, schema, cache_dir=self.tree.tables_dir)
        else:
            metrics = self._table(f"{row['session_type']}_analysis_metrics")
            units = self._table("units")
            own = self._session_units_index(int(session_id), units)
            metrics = metrics[metrics.index.isin(own)]
        return self._annotate(metrics, annotate, filter_by_validity, int(session_id),
                              unit_filter_kwargs)  # fmt: skip

    def _session_units_index(self, session_id: int, units: pd.DataFrame) -> pd.Index:
        """Return the ids of every unit of one session (no filter)."""
        channels = self._annotated_channels()
        session_of = channels["ecephys_session_id"].reindex(units["ecephys_channel_id"])
        return units.index[session_of.to_numpy() == session_id]

    def _annotate(
        self,
        metrics: pd.DataFrame,
        annotate: bool,
        filter_by_validity: bool,
        session_id: int | None,
        filters: dict[str, Any],
    ) -> pd.DataFrame:
        """Return ``metrics`` joined with the filtered units (of one session when given)."""
        if not annotate:
            return metrics
        units = self.get_units(filter_by_validity=filter_by_validity, **filters)
        if session_id is not None:
            units = units[units["ecephys_session_id"] == session_id]
        joined = ct.join_on(units, metrics, None, ("_unit", "_metric"))
        joined.index = joined.index.rename("ecephys_unit_id")
        return joined

    def get_all_session_types(self) -> list[Any]:
        """Return the session types of the release."""
        return self._table("sessions")["session_type"].unique().tolist()

    def get_all_full_genotypes(self) -> list[Any]:
        """Return the distinct full genotypes."""
        return self.get_session_table()["full_genotype"].unique().tolist()

    def get_structure_acronyms(self) -> list[Any]:
        """Return the distinct structure acronyms of the channels (NaN included)."""
        return self.get_channels()["ecephys_structure_acronym"].unique().tolist()

    def get_all_ages(self) -> list[Any]:
        """Return the distinct ages in days."""
        return self.get_session_table()["age_in_days"].unique().tolist()

    def get_all_sexes(self) -> list[Any]:
        """Return the distinct sexes."""
        return self.get_session_table()["sex"].unique().tolist()

    # --- sessions ----------------------------------------------------------------------------
    def _session_row(self, session_id: Any) -> pd.Series:
        """Return the sessions-table row of ``session_id``; raise UnknownIdError if absent."""
        sessions = self._table("sessions")
        try:
            return sessions.loc[int(session_id)]
        except (KeyError, TypeError, ValueError):
            raise UnknownIdError(
                f"There is no session {session_id!r} in this release ({len(sessions)} "
                f"sessions; list them with cache.get_session_table() or `brainobs sessions "
                f"{self.RELEASE.name}`)."
            ) from None

    def get_session_data(
        self,
        session_id: int,
        filter_by_validity: bool = True,
        *,
        stream: bool = False,
        block_cache: BlockCacheOptions | None = None,
        **unit_filter_kwargs: Any,
    ) -> EcephysSession:
        """Return session ``session_id``, opened lazily (its NWB file fetched and checked, or
        with ``stream=True`` read by byte ranges). Unit filters as :meth:`get_units`."""
        self._session_row(session_id)
        sid = int(session_id)
        relative = self.tree.path_of("session_nwb", sid, sid)
        file = NwbFile.from_local_or_remote(self.tree.open_data(relative, stream), block_cache)
        unit_thresholds(**unit_filter_kwargs)  # refuse unknown filters now
        return EcephysSession(
            file,
            lfp_files=LfpFiles(opener=self._lfp_opener(sid, stream, block_cache)),
            external_channel_columns=lambda: self._substitute_channel_columns(sid),
            filter_by_validity=filter_by_validity,
            **unit_filter_kwargs,
        )

    def _lfp_opener(
        self, session_id: int, stream: bool, block_cache: BlockCacheOptions | None
    ) -> Any:
        """Return a function opening a probe's LFP file of this session through the cache."""

        def open_lfp(probe_id: int) -> NwbFile:
            probes = self._table("probes")
            mine = probes[probes["ecephys_session_id"] == session_id]
            if probe_id not in mine.index or not bool(mine.loc[probe_id, "has_lfp_data"]):
                raise UnknownIdError(
                    f"The probes table lists no LFP file for probe {probe_id} of session "
                    f"{session_id}; its probes with LFP are "
                    f"{mine.index[mine['has_lfp_data'].astype(bool)].tolist()}."
                )
            relative = self.tree.path_of("probe_lfp_nwb", session_id, int(probe_id))
            location = self.tree.open_data(relative, stream)
            return NwbFile.from_local_or_remote(location, block_cache)

        return open_lfp

    def _substitute_channel_columns(self, session_id: int) -> pd.DataFrame:
        """Return the warehouse's structure and CCF columns of one session's channels."""
        channels = self.get_channels()
        return channels.loc[channels["ecephys_session_id"] == session_id, list(CHANNEL_SUBSTITUTES)]

    def get_natural_movie_template(self, number: int) -> np.ndarray:
        """Return natural movie ``number``'s frames (frame x height x width)."""
        relative = self.tree.path_of("natural_movie", int(number))
        return read_natural_movie(self.tree.fetch(relative))

    def get_natural_scene_template(self, number: int) -> np.ndarray:
        """Return natural scene ``number`` (height x width)."""
        relative = self.tree.path_of("natural_scene", int(number))
        return read_natural_scene(self.tree.fetch(relative))

    # --- files of the folder (brainobs download, cache verify) -------------------------------
    def metadata_files(self) -> list[str]:
        """Return the relative paths of the tables: the four tables, then the metrics tables."""
        names = [self.tree.path_of(key) for key in ("sessions", "probes", "channels", "units")]
        types = self.get_all_session_types()
        return names + [self.tree.path_of("typewise_analysis_metrics", t) for t in types]

    def data_files(self, ids: Iterable[int | str] = ()) -> list[str]:
        """Return the relative paths of the NWB files of ``ids`` (session or probe ids; every
        session's when empty): a session's file and its probes' LFP files, a probe's LFP."""
        probes = self._table("probes")
        sessions = self._table("sessions").index
        wanted = [int(i) for i in ids] if ids else [int(i) for i in sessions]
        files: list[str] = []
        for ident in wanted:
            if ident in sessions:
                files.append(self.tree.path_of("session_nwb", ident, ident))
                mine = probes[(probes["ecephys_session_id"] == ident) & probes["has_lfp_data"]]
                files += [self.tree.path_of("probe_lfp_nwb", ident, int(p)) for p in mine.index]
            elif ident in probes.index and bool(probes.loc[ident, "has_lfp_data"]):
                sid = int(probes["ecephys_session_id"].loc[ident])
                files.append(self.tree.path_of("probe_lfp_nwb", sid, ident))
            else:
                raise UnknownIdError(
                    f"{ident} is neither a session id nor the id of a probe with LFP in this "
                    f"release; list the sessions with `brainobs sessions {self.RELEASE.name}`."
                )
        return list(dict.fromkeys(files))

    def session_file_identity(self, session_id: int) -> str:
        """Return what identifies a session's NWB file without a hash: the size and MD5 the
        source reports, else those of the checked copy (summaries key sessions by it)."""
        sid = int(session_id)
        relative = self.tree.path_of("session_nwb", sid, sid)
        remote = self.tree.remote_entry(relative)
        if remote is not None and remote.size is not None:
            return f"size={remote.size};md5={remote.md5 or ''}"
        recorded = self.tree.record().get(relative)
        if recorded is not None:
            return f"size={recorded.get('size')};md5={recorded.get('md5') or ''}"
        path = self.tree.local_path(relative)
        if path.is_file():
            return f"size={path.stat().st_size};md5="
        raise FileNotInCacheError(
            f"Session {sid}'s file is neither in {self.tree.folder} nor at a source; download "
            f"it first (`brainobs download {self.RELEASE.name} {sid}`)."
        )

    # --- what every release's cache answers --------------------------------------------------
    def session_table(self, include_abnormal: bool = False) -> pd.DataFrame:
        """Return :meth:`get_session_table` (VCN flags no abnormal sessions)."""
        return self.get_session_table()

    def get_session(self, session_id: int, stream: bool = False) -> EcephysSession:
        """Return :meth:`get_session_data` of ``session_id`` with the default filters."""
        return self.get_session_data(session_id, stream=stream)


def _session_type(table_name: str) -> str:
    """Return the session type of a typewise metrics table name; refuse unknown types."""
    session_type = table_name.removesuffix("_analysis_metrics")
    if session_type not in SESSION_TYPES:
        raise InvalidInputError(
            f"{session_type!r} is not a session type of this release ({list(SESSION_TYPES)})."
        )
    return session_type


__all__ = ["DEFAULT_UNIT_FILTERS", "EcephysProjectCache"]
