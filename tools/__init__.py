"""Maintainers' tools for keeping openapi.yaml honest: spec_diff and check_regen (not vendored)."""
