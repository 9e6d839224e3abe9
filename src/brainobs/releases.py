"""The three Allen Brain Observatory releases brainobs serves, described as data."""

from __future__ import annotations

from dataclasses import dataclass

from brainobs.errors import UnknownReleaseError


@dataclass(frozen=True)
class Release:
    """Where a release lives and what its metadata tables are called.

    ``project_name`` is the first component of every key in the bucket and the prefix of
    the local cache folder (``{project_name}-{manifest_version}``).
    """

    name: str
    title: str
    bucket: str
    project_name: str
    metadata_tables: tuple[str, ...]
    region: str = "us-west-2"
    has_versioned_manifests: bool = True
    dandiset: str | None = None

    @property
    def manifest_prefix(self) -> str:
        """Return the bucket prefix under which the versioned manifests live."""
        return f"{self.project_name}/manifests/"

    def manifest_name(self, version: str) -> str:
        """Return the file name of the manifest of ``version`` (e.g. ``0.4.0``)."""
        return f"{self.project_name}_project_manifest_v{version}.json"

    @property
    def https_root(self) -> str:
        """Return the public HTTPS address of the bucket."""
        return f"https://{self.bucket}.s3.{self.region}.amazonaws.com"


VBN = Release(
    name="vbn",
    title="Visual Behavior Neuropixels",
    bucket="visual-behavior-neuropixels-data",
    project_name="visual-behavior-neuropixels",
    metadata_tables=("ecephys_sessions", "behavior_sessions", "units", "probes", "channels"),
    dandiset="000713",
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
)

# VCN's S3 copy is an AllenSDK warehouse cache tree (manifest.json of paths, no hashes),
# not a versioned cloud-cache manifest.
VCN = Release(
    name="vcn",
    title="Visual Coding Neuropixels",
    bucket="allen-brain-observatory",
    project_name="visual-coding-neuropixels",
    metadata_tables=("sessions", "probes", "channels", "units"),
    has_versioned_manifests=False,
    dandiset="000021",
)

RELEASES: dict[str, Release] = {r.name: r for r in (VBN, VBO, VCN)}


def get_release(name: str) -> Release:
    """Return the release called ``name`` (``vbn``, ``vbo`` or ``vcn``)."""
    try:
        return RELEASES[name.lower()]
    except KeyError:
        known = ", ".join(sorted(RELEASES))
        raise UnknownReleaseError(f"Unknown release {name!r}. Known releases: {known}.") from None
