"""The one place nanotorch's version is written (read by pyproject.toml and ``__init__``)."""
__version__ = "0.2.0"
