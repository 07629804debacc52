"""Verbatim checks: a citation excerpt or quote must appear in its source text."""

import re

_TYPOGRAPHIC = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u201f": '"',
        "\u2033": '"',
    }
)
_WHITESPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
    """Fold typographic quotes to ASCII and runs of whitespace to one space."""
    return _WHITESPACE.sub(" ", text.translate(_TYPOGRAPHIC)).strip()


def is_verbatim(excerpt: str, source_text: str) -> bool:
    """True when the excerpt occurs in the source text, up to whitespace and quote style."""
    needle = normalise(excerpt)
    return bool(needle) and needle in normalise(source_text)
