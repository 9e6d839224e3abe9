"""Visual Behavior Optical Physiology (VBO, 2-photon): the release's home.

Declared in :data:`brainobs.releases.VBO`:

* ``cache``: :class:`~brainobs.vbo.cache.VisualBehaviorOphysProjectCache`, the four metadata
  tables (``schemas``), experiments and behavior sessions, cells across a container's sessions;
* ``experiment``: :class:`~brainobs.vbo.experiment.BehaviorOphysExperiment`, one imaging plane
  read lazily (``ophys_nwb``: the 2-photon readers), with its aligned-response methods
  (``responses``);
* ``report`` (report kind ``vbo_ophys``), ``tour`` (``brainobs demo``), ``summary``
  (``brainobs summarize vbo``: per-cell and per-experiment tables);
* ``sample_*``: the simulated sample release (``brainobs sample vbo``), written by
  :func:`brainobs.vbo.sample_release.write_vbo_release`: the cohort plan (``sample_design``),
  imaging sessions (``sample_session``), cells and their responses (``sample_cells``), traces
  (``sample_traces``), imaging-plane files (``sample_nwb``), behavior-only files
  (``sample_behavior``) and metadata tables (``sample_tables``).
"""
