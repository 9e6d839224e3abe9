"""brainobs.nwb."""
