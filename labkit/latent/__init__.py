"""Latent directions, edits and controlled generation (a features -> z mapper)."""
