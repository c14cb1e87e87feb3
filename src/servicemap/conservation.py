"""Conservation: every crawled record ends in exactly one place, a published service's
lineage or the rejected records."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from pydantic import BaseModel

from servicemap.records import DirectoryService, Rejection


class Conservation(BaseModel):
    crawled: int
    published: int
    rejected: int
    lost: list[str]
    duplicated: list[str]
    unknown: list[str]

    @property
    def holds(self) -> bool:
        return not (self.lost or self.duplicated or self.unknown)

    def equation(self) -> str:
        sign = "=" if self.holds else "≠"
        return f"crawled {self.crawled} {sign} published {self.published} + rejected {self.rejected}"


def check_conservation(
    crawled_ids: Iterable[str], services: Iterable[DirectoryService], rejected: Iterable[Rejection]
) -> Conservation:
    """Compare record ids: lost (crawled, found nowhere), duplicated (in two places), unknown
    (published or rejected but never crawled)."""
    crawled = Counter(crawled_ids)
    published = Counter(member.record_id for service in services for member in service.members)
    set_aside = Counter(r.record_id for r in rejected)
    landed = published + set_aside
    return Conservation(
        crawled=sum(crawled.values()),
        published=sum(published.values()),
        rejected=sum(set_aside.values()),
        lost=sorted((crawled - landed).elements()),
        duplicated=sorted(rid for rid, n in landed.items() if rid in crawled and n > crawled[rid]),
        unknown=sorted(set(landed) - set(crawled)),
    )
