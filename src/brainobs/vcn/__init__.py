"""Visual Coding Neuropixels (VCN): the release's home.

58 passive-viewing sessions of two types (``brain_observatory_1.1``: gabors, flashes, drifting and
static gratings, natural scenes and movies; ``functional_connectivity``: more repeats of fewer
stimuli, contrast tuning and dot motion), 99,180 units on up to six Neuropixels probes, LFP and
CSD per probe. Declared in :data:`brainobs.releases.VCN`; its files live in the warehouse
cache tree (``visual-coding-neuropixels/ecephys-cache/`` of the public bucket, DANDI
000021/000022). Modules: ``schemas`` (the metadata tables) and ``sample_*`` (the simulated
sample release, :func:`brainobs.vcn.sample_release.write_vcn_release`).
"""
