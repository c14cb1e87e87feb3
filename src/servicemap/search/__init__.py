"""Full-text search over the published directory, with Dutch stemming, synonyms and typo tolerance."""

from servicemap.search.query import (
    MAX_QUERY_LENGTH,
    InvalidQuery,
    Ranking,
    SearchFilters,
    SearchHit,
    amsterdam_now,
    rank,
    search,
)

__all__ = [
    "MAX_QUERY_LENGTH",
    "InvalidQuery",
    "Ranking",
    "SearchFilters",
    "SearchHit",
    "amsterdam_now",
    "rank",
    "search",
]
