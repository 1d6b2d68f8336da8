"""Rewriting one generated section of a README between its two marker comments."""
from __future__ import annotations


def replace_section(path: str, begin: str, end: str, section: str) -> None:
    """Put ``section`` between the lines ``begin`` and ``end`` of ``path``; the rest of the
    file stays as it is."""
    with open(path) as f:
        text = f.read()
    if begin not in text or end not in text:
        raise SystemExit(f"{path}: no '{begin}' ... '{end}' markers to replace between")
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    with open(path, "w") as f:
        f.write(f"{head}{begin}\n{section}\n{end}{tail}")
