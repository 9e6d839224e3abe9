"""brainobs.plot."""
