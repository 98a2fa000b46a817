"""CX warehouse."""
