"""brainobs.report."""
