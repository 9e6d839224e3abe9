"""Visual Behavior Optical Physiology (VBO, 2-photon): the release's home.

Declared in :data:`brainobs.releases.VBO`. So far:

* ``schemas``: the four metadata tables;
* ``sample_*``: the simulated sample release (``brainobs sample vbo``), written by
  :func:`brainobs.vbo.sample_release.write_vbo_release`: the cohort plan (``sample_design``),
  imaging sessions (``sample_session``), cells and their responses (``sample_cells``), traces
  (``sample_traces``), imaging-plane files (``sample_nwb``), behavior-only files
  (``sample_behavior``) and metadata tables (``sample_tables``).
"""
