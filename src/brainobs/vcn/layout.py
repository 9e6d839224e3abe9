"""Where the files of the VCN cache folder go: the reference's path manifest (version 0.3.0).

``EcephysProjectCache.add_manifest_paths`` of the reference (reference/format_ecephys.md
§1.2.1), as data: the same folder opens in the reference toolkit and in brainobs.
"""

from __future__ import annotations

from brainobs.storage.path_manifest import PathManifest

MANIFEST_VERSION = "0.3.0"
#: (key, type, spec, parent key), in the reference's order.
MANIFEST_PATHS: tuple[tuple[str, str, str, str], ...] = (
    ("sessions", "file", "sessions.csv", "BASEDIR"),
    ("probes", "file", "probes.csv", "BASEDIR"),
    ("channels", "file", "channels.csv", "BASEDIR"),
    ("units", "file", "units.csv", "BASEDIR"),
    ("session_data", "dir", "session_%d", "BASEDIR"),
    ("session_nwb", "file", "session_%d.nwb", "session_data"),
    ("session_analysis_metrics", "file", "session_%d_analysis_metrics.csv", "session_data"),
    ("probe_lfp_nwb", "file", "probe_%d_lfp.nwb", "session_data"),
    ("movie_dir", "dir", "natural_movie_templates", "BASEDIR"),
    ("typewise_analysis_metrics", "file", "%s_analysis_metrics.csv", "BASEDIR"),
    ("natural_movie", "file", "natural_movie_%d.h5", "movie_dir"),
    ("natural_scene_dir", "dir", "natural_scene_templates", "BASEDIR"),
    ("natural_scene", "file", "natural_scene_%d.tiff", "natural_scene_dir"),
)
#: The manifest a new cache folder gets.
CACHE_MANIFEST = PathManifest.build(MANIFEST_VERSION, MANIFEST_PATHS)
MANIFEST_NAME = "manifest.json"
