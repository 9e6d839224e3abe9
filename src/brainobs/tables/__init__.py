"""brainobs.tables."""
