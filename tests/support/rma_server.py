"""A loopback stand-in for the Allen Institute warehouse (``api.brain-map.org``), for VCN tests.

It answers the RMA queries the reference's ``EcephysProjectWarehouseApi`` sends
(reference/format_ecephys.md §1.2) from a VCN sample release: ``EcephysSession`` (with the
nested specimen/donor/age and well-known files), ``EcephysProbe`` (``use_lfp_data``),
``EcephysChannel`` (the tabular columns), ``EcephysUnit``, ``EcephysUnitMetricBundle`` (each
unit's metrics as a JSON ``data`` string, with ``p_value_rf`` and ``on_screen_rf`` swapped as in
the released bundles) and ``WellKnownFile`` (the session and LFP NWB files), paged by
``start_row``/``num_rows`` in id order. ``/api/v2/well_known_file_download/<id>`` serves the
files with Range support and the fault injection of :mod:`tests.support.range_server`.
It binds 127.0.0.1 only.
"""

from __future__ import annotations

import json
import math
import re
import threading
from collections import Counter
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import numpy as np
import pandas as pd

from brainobs.vcn.sample_release import CACHE_PREFIX, VcnSampleRelease
from tests.support.range_server import Fault, ServerState, _Handler

DOWNLOAD = "/api/v2/well_known_file_download/"
_OPTIONS = re.compile(r"\[start_row\$eq(\d+)\]\[num_rows\$eq(\d+)\]")


def _plain(value: Any) -> Any:
    """Return a JSON-ready Python value (NaN as null)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _records(frame: pd.DataFrame, index: str) -> list[dict[str, Any]]:
    """Return the rows of ``frame`` (its index as column ``index``) as JSON-ready dicts."""
    rows = frame.reset_index().rename(columns={frame.index.name: index})
    return [{k: _plain(v) for k, v in row.items()} for row in rows.to_dict("records")]


class WarehouseData:
    """The RMA records of a sample release, by model."""

    def __init__(self, release: VcnSampleRelease) -> None:
        tree = release.cache_dir
        self.tree = tree
        read = lambda name: pd.read_csv(tree / f"{name}.csv", index_col="id")  # noqa: E731
        self.sessions = read("sessions")
        self.probes = read("probes")
        self.channels = read("channels")
        self.units = read("units")
        self.metrics = {
            t: pd.read_csv(tree / f"{t}_analysis_metrics.csv", index_col="ecephys_unit_id")
            for t in self.sessions["session_type"].unique()
        }
        self.files: dict[int, str] = {}  # well-known file id -> key under the bucket root
        self.file_rows: list[dict[str, Any]] = []
        self._answers: dict[str, list[dict[str, Any]]] = {}
        self._index_files()

    def _index_files(self) -> None:
        for number, path in enumerate(sorted(self.tree.rglob("*.nwb"))):
            relative = path.relative_to(self.tree).as_posix()
            name = path.stem
            if name.startswith("session_"):
                kind, attachable, ident = "EcephysNwb", "EcephysSession", int(name.split("_")[1])
            else:
                kind, attachable, ident = "EcephysLfpNwb", "EcephysProbe", int(name.split("_")[1])
            wkf = 1026124645 + number
            self.files[wkf] = f"{CACHE_PREFIX}/{relative}"
            self.file_rows.append({
                "id": wkf, "attachable_id": ident, "attachable_type": attachable,
                "download_link": f"{DOWNLOAD}{wkf}", "path": f"/allen/{relative}",
                "well_known_file_type": {"name": kind},
            })  # fmt: skip

    def session_records(self) -> list[dict[str, Any]]:
        out = []
        for row in _records(self.sessions, "id"):
            donor = {"age": {"days": row.pop("age_in_days")}, "sex": row.pop("sex"),
                     "full_genotype": row.pop("genotype")}  # fmt: skip
            row.pop("has_nwb")
            row["stimulus_name"] = row.pop("session_type")
            row["fail_eye_tracking"] = False
            row["specimen"] = {"donor": donor}
            row["well_known_files"] = [{"well_known_file_type": {"name": "EcephysNwb"}}]
            out.append(dict(sorted(row.items())))
        return out

    def probe_records(self) -> list[dict[str, Any]]:
        rows = _records(self.probes.rename(columns={"has_lfp_data": "use_lfp_data"}), "id")
        return [dict(sorted(row.items())) for row in rows]

    def metric_records(self, session_types: set[str], session_ids: set[int]) -> list[dict]:
        channels = self.channels["ecephys_probe_id"].map(self.probes["ecephys_session_id"])
        session_of_unit = self.units["ecephys_channel_id"].map(channels)
        out = []
        for session_type, table in self.metrics.items():
            for unit, values in table.iterrows():
                sid = int(session_of_unit.loc[unit])
                if session_types and session_type not in session_types:
                    continue
                if session_ids and sid not in session_ids:
                    continue
                data = {k: _plain(v) for k, v in values.items()}
                if "p_value_rf" in data:  # the released bundles hold the two swapped
                    data["p_value_rf"], data["on_screen_rf"] = (
                        data["on_screen_rf"],
                        data["p_value_rf"],
                    )
                out.append({"id": 5_000_000 + int(unit), "ecephys_unit_id": int(unit),
                            "data": json.dumps(data)})  # fmt: skip
        return out

    def answer(self, criteria: str) -> list[dict[str, Any]]:
        """Return every record matching an RMA criteria string (before paging), sorted by id.

        Computed once per query: a client pages through the same query many times.
        """
        query = _OPTIONS.sub("", criteria)
        if query not in self._answers:
            records = self._match(query)
            self._answers[query] = sorted(records, key=lambda r: r.get("id", 0))
        return self._answers[query]

    def _match(self, criteria: str) -> list[dict[str, Any]]:
        model = re.search(r"model::(\w+)", criteria)
        name = model.group(1) if model else ""
        if name == "EcephysSession":
            return self.session_records()
        if name == "EcephysProbe":
            return self.probe_records()
        if name == "EcephysChannel":
            return _records(self.channels[[c for c in self.channels.columns]], "id")
        if name == "EcephysUnit":
            return _records(self.units, "id")
        if name == "EcephysUnitMetricBundle":
            types = set(re.findall(r"stimulus_name\$in'([^']+)'", criteria))
            ids = {int(i) for i in re.findall(r"ecephys_session\[id\$in(\d+)\]", criteria)}
            return self.metric_records(types, ids)
        if name == "WellKnownFile":
            return self._well_known(criteria)
        raise KeyError(name)

    def _well_known(self, criteria: str) -> list[dict[str, Any]]:
        kind = re.search(r"name\$eq'([^']+)'", criteria)
        attachable = re.search(r"attachable_type\$eq'([^']+)'", criteria)
        ident = re.search(r"attachable_id\$eq(\d+)", criteria)
        return [
            row for row in self.file_rows
            if kind and row["well_known_file_type"]["name"] == kind.group(1)
            and attachable and row["attachable_type"] == attachable.group(1)
            and ident and row["attachable_id"] == int(ident.group(1))
        ]  # fmt: skip


class _RmaHandler(_Handler):
    def do_GET(self) -> None:
        parsed = urlparse(self.path)
        path = unquote(parsed.path)
        if path.rstrip("/").endswith("api/v2/data/query.json"):
            self._answer_query(unquote(parsed.query))
            return
        if path.lstrip("/").startswith(DOWNLOAD.lstrip("/")):
            number = path.rstrip("/").rsplit("/", 1)[-1]
            key = self.server.data.files.get(int(number)) if number.isdigit() else None  # type: ignore[attr-defined]
            if key is None:
                self._send_status(404)
                return
            self.path = "/" + key
        super().do_GET()

    def _answer_query(self, query: str) -> None:
        server: Any = self.server
        criteria = query.removeprefix("criteria=")
        with server.state.lock:
            server.queries.append(criteria)
        try:
            records = server.data.answer(criteria)
        except KeyError as exc:
            body = {"success": False, "msg": f"unknown model {exc}"}
        else:
            options = _OPTIONS.findall(criteria)
            start, count = (int(options[-1][0]), int(options[-1][1])) if options else (0, 50)
            page = records[start : start + count]
            body = {"success": True, "id": 0, "start_row": start, "num_rows": len(page),
                    "total_rows": len(records), "msg": page}  # fmt: skip
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class WarehouseServer:
    """Serve a VCN sample as the warehouse on 127.0.0.1; use as a context manager."""

    def __init__(self, release: VcnSampleRelease) -> None:
        self.state = ServerState(Path(release.root))
        self.data = WarehouseData(release)
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _RmaHandler)
        self._httpd.daemon_threads = True
        self._httpd.state = self.state  # type: ignore[attr-defined]
        self._httpd.data = self.data  # type: ignore[attr-defined]
        self._httpd.queries = []  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def host(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"{host}:{port}"

    @property
    def queries(self) -> list[str]:
        return list(self._httpd.queries)  # type: ignore[attr-defined]

    def model_requests(self) -> Counter[str]:
        """Return how many pages of each model were asked for."""
        return Counter(re.search(r"model::(\w+)", q).group(1) for q in self.queries)  # type: ignore[union-attr]

    def inject(self, key: str, *faults: Fault) -> None:
        with self.state.lock:
            self.state.faults.setdefault(key, []).extend(faults)

    def reset(self) -> None:
        with self.state.lock:
            self.state.faults.clear()
            self.state.requests.clear()
        self._httpd.queries.clear()  # type: ignore[attr-defined]

    def __enter__(self) -> WarehouseServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
