"""Utilities on parameters (clipping, flattening)."""
