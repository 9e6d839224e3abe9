"""brainobs.analysis."""
