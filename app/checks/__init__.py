"""Consistency checks of stored data, run from the `tracker` command."""
