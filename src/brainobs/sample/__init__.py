"""brainobs.sample."""
