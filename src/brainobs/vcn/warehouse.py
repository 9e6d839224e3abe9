"""The Allen Brain Atlas warehouse (``api.brain-map.org``) as a source of the VCN cache folder.

The reference's ``EcephysProjectCache.from_warehouse`` asks the warehouse's RMA query service
for the four tables and the analysis metrics, and finds each NWB file as a ``WellKnownFile``
whose ``download_link`` it then streams (reference/format_ecephys.md §1.2). This module speaks
the same queries: :class:`RmaClient` pages through a query (``start_row``/``num_rows``, until
``total_rows``), and :class:`WarehouseSource` turns the answers into the cache folder's files --
the tables written as the reference writes them, the NWB files located for a verified download
(the size the server reports, then the HDF5 end-of-file check). Every answer is bounded in
size, session types are checked before they go into a query, and ids are integers.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from typing import Any

import pandas as pd

from brainobs.config import TransferSettings
from brainobs.errors import InvalidInputError, SourceError
from brainobs.storage.download import with_retries
from brainobs.storage.http import HTTPFetcher, HTTPTransport
from brainobs.storage.tree_sources import RemoteEntry

SCHEME, HOST = "http", "api.brain-map.org"
RMA_ROUTE = "api/v2/data/query.json"
PAGE_SIZE = 5000
SESSIONS = (
    "criteria=model::EcephysSession,rma::include,specimen(donor(age)),"
    "well_known_files(well_known_file_type)"
)
PROBES = "criteria=model::EcephysProbe"
CHANNELS = (
    "criteria=model::EcephysChannel,rma::include,structure,rma::options[tabular$eq'"
    "ecephys_channels.id,ecephys_probe_id,local_index,probe_horizontal_position,"
    "probe_vertical_position,anterior_posterior_ccf_coordinate,dorsal_ventral_ccf_coordinate,"
    "left_right_ccf_coordinate,structures.id as ecephys_structure_id,"
    "structures.acronym as ecephys_structure_acronym']"
)
UNITS = "criteria=model::EcephysUnit"
METRICS = (
    "criteria=model::EcephysUnitMetricBundle,rma::criteria,"
    "ecephys_unit(ecephys_channel(ecephys_probe(ecephys_session[{condition}])))"
)
WELL_KNOWN_FILE = (
    "criteria=model::WellKnownFile,rma::criteria,well_known_file_type[name$eq'{kind}']"
    "[attachable_type$eq'{attachable}'][attachable_id$eq{id}]"
)
Rows = list[dict[str, Any]]
_SESSION_NWB = re.compile(r"^session_(\d+)/session_(\d+)\.nwb$")
_PROBE_LFP = re.compile(r"^session_(\d+)/probe_(\d+)_lfp\.nwb$")
_TYPE_METRICS = re.compile(r"^([A-Za-z0-9_.]+)_analysis_metrics\.csv$")
_SESSION_METRICS = re.compile(r"^session_(\d+)/session_(\d+)_analysis_metrics\.csv$")


class RmaClient:
    """Pages through RMA queries of one warehouse; answers are JSON, bounded in size."""

    def __init__(
        self, base_url: str, settings: TransferSettings | None = None, page_size: int = PAGE_SIZE
    ) -> None:
        if page_size < 1:
            raise InvalidInputError(f"page_size must be at least 1, not {page_size}.")
        self.base_url = base_url.rstrip("/")
        self.transport = HTTPTransport(settings)
        self.page_size = page_size
        self.requests = 0

    def page_url(self, query: str, start: int) -> str:
        """Return the address of one page of ``query`` (the reference's paging options)."""
        options = f"rma::options[start_row$eq{start}][num_rows$eq{self.page_size}][order$eq'id']"
        return f"{self.base_url}/{RMA_ROUTE}?{query},{options}"

    def rows(self, query: str) -> list[dict[str, Any]]:
        """Return every record ``query`` matches, page by page."""
        rows: list[dict[str, Any]] = []
        total: int | None = None
        while total is None or len(rows) < total:
            answer = self._page(query, len(rows))
            if total is None:
                total = int(answer.get("total_rows", 0))
            page = answer.get("msg")
            if not isinstance(page, list) or (not page and len(rows) < total):
                raise SourceError(
                    f"{self.base_url} answered {query!r} with a malformed page at row "
                    f"{len(rows)} of {total}; try again later."
                )
            rows.extend(page)
        return rows

    def _page(self, query: str, start: int) -> dict[str, Any]:
        """Return one page's answer, checked for ``success``."""
        url = self.page_url(query, start)
        body = with_retries(lambda: self.transport.read_small(url), self.transport.settings)
        self.requests += 1
        try:
            answer = json.loads(body)
        except ValueError:
            raise SourceError(f"{self.base_url} did not answer with JSON for {query!r}.") from None
        if not isinstance(answer, dict) or not answer.get("success"):
            message = answer.get("msg") if isinstance(answer, dict) else answer
            raise SourceError(f"{self.base_url} refused the query {query!r}: {message}")
        return answer


def _csv(rows: list[dict[str, Any]], index: str) -> bytes:
    """Return ``rows`` written as the reference writes its tables (``to_csv``, index first)."""
    frame = pd.DataFrame(rows, dtype=object)
    if frame.empty:
        raise SourceError("The warehouse answered with no rows for a table; try again later.")
    buffer = io.StringIO()
    frame.set_index(index).to_csv(buffer)
    return buffer.getvalue().encode()


def session_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return the session records flattened as the reference does (age, sex, genotype, NWB)."""
    out = []
    for row in rows:
        row = dict(row)
        donor = (row.pop("specimen", None) or {}).get("donor") or {}
        files = row.pop("well_known_files", None) or []
        row.pop("fail_eye_tracking", None)
        row = {("session_type" if k == "stimulus_name" else k): v for k, v in row.items()}
        row["age_in_days"] = (donor.get("age") or {}).get("days")
        row["sex"] = donor.get("sex")
        row["genotype"] = donor.get("full_genotype") or "wt"
        row["has_nwb"] = any(
            (f.get("well_known_file_type") or {}).get("name") == "EcephysNwb" for f in files
        )
        out.append(row)
    return out


def metric_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return the metric bundles with their ``data`` merged in; the swapped RF columns fixed.

    The released bundles hold ``p_value_rf`` and ``on_screen_rf`` swapped; as the reference,
    they are swapped back when ``p_value_rf`` holds booleans and ``on_screen_rf`` numbers.
    """
    out = []
    for row in rows:
        row = {k: v for k, v in row.items() if k != "id"}
        data = row.pop("data", None)
        values = json.loads(data) if isinstance(data, str) else (data or {})
        if not isinstance(values, dict):
            raise SourceError("A metric bundle's data is not a JSON object.")
        out.append({**row, **values})
    swapped = out and isinstance(out[0].get("p_value_rf"), bool)
    if swapped and isinstance(out[0].get("on_screen_rf"), float):
        for row in out:
            row["p_value_rf"], row["on_screen_rf"] = row["on_screen_rf"], row["p_value_rf"]
    return out


class WarehouseSource:
    """The warehouse's RMA service as the source of a VCN cache folder (tables and NWB files)."""

    def __init__(
        self,
        scheme: str = SCHEME,
        host: str = HOST,
        *,
        settings: TransferSettings | None = None,
        page_size: int = PAGE_SIZE,
    ) -> None:
        if scheme not in ("http", "https") or not re.match(r"^[A-Za-z0-9.\-]+(:\d+)?$", host):
            raise InvalidInputError(
                f"{scheme}://{host} is not a warehouse address; give scheme 'http' or 'https' "
                "and a host name such as api.brain-map.org."
            )
        self.base_url = f"{scheme}://{host}"
        self.rma = RmaClient(self.base_url, settings, page_size)
        self.files = HTTPFetcher(self.base_url, settings)
        self._located: dict[str, RemoteEntry] = {}

    def __repr__(self) -> str:
        return f"WarehouseSource({self.base_url!r})"

    def describe(self) -> str:
        """Return the warehouse's address."""
        return f"the Allen Institute warehouse at {self.base_url}"

    def build(self, relative: str) -> bytes | None:
        """Return a table of the cache folder built from RMA queries (None: not a table)."""
        simple: dict[str, tuple[str, Callable[[Rows], Rows]]] = {
            "sessions.csv": (SESSIONS, session_rows), "probes.csv": (PROBES, _probe_rows),
            "channels.csv": (CHANNELS, list), "units.csv": (UNITS, list),
        }  # fmt: skip
        if relative in simple:
            query, shape = simple[relative]
            return _csv(shape(self.rma.rows(query)), "id")
        condition = _metrics_condition(relative)
        if condition is None:
            return None
        rows = metric_rows(self.rma.rows(METRICS.format(condition=condition)))
        return _csv(rows, "ecephys_unit_id")

    def locate(self, relative: str) -> RemoteEntry | None:
        """Return the download of an NWB file of the folder, with the size the server says."""
        if relative not in self._located:
            found = self._well_known_file(relative)
            if found is None:
                return None
            key = found.lstrip("/")
            self._located[relative] = RemoteEntry(self.files, key, self.files.size(key))
        return self._located[relative]

    def _well_known_file(self, relative: str) -> str | None:
        """Return the download link of the NWB file at ``relative`` (None: not an NWB file)."""
        session = _SESSION_NWB.match(relative)
        probe = _PROBE_LFP.match(relative)
        if session and session.group(1) == session.group(2):
            kind, attachable, ident = "EcephysNwb", "EcephysSession", int(session.group(1))
        elif probe:
            kind, attachable, ident = "EcephysLfpNwb", "EcephysProbe", int(probe.group(2))
        else:
            return None
        query = WELL_KNOWN_FILE.format(kind=kind, attachable=attachable, id=ident)
        rows = self.rma.rows(query)
        if len(rows) != 1 or not isinstance(rows[0].get("download_link"), str):
            raise SourceError(
                f"The warehouse lists {len(rows)} {kind} files for {attachable} {ident} "
                "(one expected); the file may not be released."
            )
        link = str(rows[0]["download_link"])
        if not link.startswith("/") or ".." in link:
            raise SourceError(f"The warehouse gave an unexpected download link {link!r}.")
        return link


def _probe_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return the probe records with ``use_lfp_data`` named ``has_lfp_data``."""
    return [{("has_lfp_data" if k == "use_lfp_data" else k): v for k, v in r.items()} for r in rows]


def _metrics_condition(relative: str) -> str | None:
    """Return the session criterion of a metrics table at ``relative`` (None: not one)."""
    by_session = _SESSION_METRICS.match(relative)
    if by_session and by_session.group(1) == by_session.group(2):
        return f"id$in{int(by_session.group(1))}"
    by_type = _TYPE_METRICS.match(relative)
    if by_type and "/" not in relative:
        return f"stimulus_name$in'{by_type.group(1)}'"
    return None
