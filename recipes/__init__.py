"""Command-line fine-tuning recipes built on nanotorch."""
