"""brainobs.cli."""
