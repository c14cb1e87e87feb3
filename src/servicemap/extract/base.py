"""What every extractor shares: the error for a page it cannot read, and whitespace handling."""

from __future__ import annotations


class ExtractionError(ValueError):
    """A page that should hold a service could not be understood: the crawl records it and
    goes on, so that a changed site shows up as errors rather than as empty records."""

    def __init__(self, url: str, what: str):
        self.url = url
        self.what = what
        super().__init__(f"{url}: {what}")


def squash(text: str | None) -> str | None:
    """Runs of whitespace made one space and the ends stripped: the only cleaning an
    extractor does, because markup whitespace carries no meaning. Empty text is None."""
    if text is None:
        return None
    joined = " ".join(text.split())
    return joined or None


def squash_all(texts: list[str | None]) -> list[str]:
    """`squash` over a list, dropping what is empty."""
    return [t for t in (squash(x) for x in texts) if t]


_BREAKS = frozenset(
    {"br", "p", "div", "li", "tr", "td", "th", "dd", "dt", "h1", "h2", "h3", "h4", "h5", "h6"}
)
_HIDDEN = frozenset({"script", "style", "template"})


def visible_text(element) -> str:
    """An lxml element's visible text, with a newline at line breaks and block edges but not
    inside inline markup ('Oude<b>gracht</b>' stays one word)."""
    parts: list[str] = []
    _walk(element, parts)
    return "".join(parts)


def _walk(element, parts: list[str]) -> None:
    tag = element.tag if isinstance(element.tag, str) else ""
    if tag in _HIDDEN:
        return
    if tag in _BREAKS:
        parts.append("\n")
    if tag and element.text:
        parts.append(element.text)
    for child in element:
        _walk(child, parts)
        if child.tail:
            parts.append(child.tail)
    if tag in _BREAKS:
        parts.append("\n")
