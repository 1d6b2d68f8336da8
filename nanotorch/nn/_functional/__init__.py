"""Implementations of nn.functional, one topic per file."""
