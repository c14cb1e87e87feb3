"""Any other site: the selectors written in `sources.yaml` say where each field is."""

from __future__ import annotations

from parsel import Selector

from servicemap.extract.base import ExtractionError, squash, squash_all, visible_text
from servicemap.records import RawFields
from servicemap.urls import page_key

LIST_FIELDS = frozenset({"address_lines", "phones", "emails", "opening_hours", "categories"})


def extract_with_selectors(html: str, url: str, selectors: dict[str, str]) -> list[RawFields]:
    """The one service on a page, each field the text of its selector's matches: list fields
    keep every match, text fields join them with a space."""
    page = Selector(text=html, type="html")  # not guessed: an XHTML declaration would make it XML
    values: dict[str, object] = {}
    for field, selector in selectors.items():
        texts = squash_all([_text(node) for node in _select(page, selector)])
        if field in LIST_FIELDS:
            if texts:
                values[field] = texts
        elif texts:
            values[field] = squash(" ".join(texts))
    if not values.get("service_name"):
        raise ExtractionError(
            url, f"no service found: selector {selectors.get('service_name')!r} matched nothing"
        )
    values.setdefault("key", page_key(url))
    return [RawFields.model_validate(values)]


def _select(page: Selector, selector: str):
    if selector.startswith("xpath:"):
        return page.xpath(selector.removeprefix("xpath:"))
    return page.css(selector)


def _text(node: Selector) -> str:
    """An element's visible text, or an attribute's or text node's value."""
    root = node.root
    return root if isinstance(root, str) else visible_text(root)
