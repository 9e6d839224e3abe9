"""brainobs.storage."""
