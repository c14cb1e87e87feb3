"""Full-text search over the published directory, with Dutch stemming, synonyms and typo tolerance."""

from servicemap.search.query import MAX_QUERY_LENGTH, InvalidQuery, SearchHit, search

__all__ = ["MAX_QUERY_LENGTH", "InvalidQuery", "SearchHit", "search"]
