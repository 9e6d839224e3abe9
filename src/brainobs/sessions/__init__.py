"""brainobs.sessions."""
