"""Visual Behavior Optical Physiology (VBO, 2-photon): the release's home.

Declared in :data:`brainobs.releases.VBO`. So far: ``schemas`` (the four metadata tables).
"""
