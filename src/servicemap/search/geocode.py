"""Postcode to coordinates from the PDOK Locatieserver, for a distance search from a postcode
where the directory itself has no located address.

Off by default: search uses the centroids of the directory's own addresses, which need no
network. Set `SERVICEMAP_PDOK_GEOCODER_URL` (e.g.
https://api.pdok.nl/bzk/locatieserver/search/v3_1) to ask the Locatieserver's `free` endpoint
for the postcodes the directory does not know.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

import httpx

GEOCODER_URL_ENV = "SERVICEMAP_PDOK_GEOCODER_URL"
TIMEOUT_SECONDS = 3.0
PC4_ROWS = 50
# 'POINT(5.12 52.09)': the Locatieserver's `centroide_ll`, longitude first (WGS84).
_POINT = re.compile(r"^POINT\(\s*(-?\d+(?:\.\d+)?)\s+(-?\d+(?:\.\d+)?)\s*\)$")


class GeocoderError(RuntimeError):
    """The Locatieserver did not answer, or answered with something that is not a position."""


@dataclass(frozen=True)
class PdokGeocoder:
    """A client of the Locatieserver's `free` search, restricted to postcode documents."""

    base_url: str
    timeout: float = TIMEOUT_SECONDS

    @classmethod
    def from_env(cls) -> PdokGeocoder | None:
        """The geocoder `SERVICEMAP_PDOK_GEOCODER_URL` names; None (no geocoding) when unset."""
        base_url = os.environ.get(GEOCODER_URL_ENV, "").strip()
        return cls(base_url) if base_url else None

    def locate(self, postcode: str) -> tuple[float, float] | None:
        """(latitude, longitude) of a PC6 ('3511AB') or PC4 ('3511'); None when PDOK has no such
        postcode. A PC4 has no document of its own: it is the mean of its first PC6 centroids."""
        whole = len(postcode) == 6
        params = {
            "q": f"postcode:{postcode}" if whole else f"postcode:{postcode}*",
            "fq": "type:postcode",
            "rows": 1 if whole else PC4_ROWS,
            "fl": "centroide_ll",
        }
        url = self.base_url.rstrip("/") + "/free"
        try:
            response = httpx.get(url, params=params, timeout=self.timeout)
            response.raise_for_status()
            documents = response.json()["response"]["docs"]
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            raise GeocoderError(
                f"PDOK Locatieserver at {url} gave no answer for postcode {postcode!r}: {exc}"
            ) from exc
        points = []
        for document in documents:
            found = _POINT.match(str(document.get("centroide_ll", "")))
            if found is None:
                raise GeocoderError(
                    f"PDOK Locatieserver at {url}: postcode {postcode!r} has centroide_ll "
                    f"{document.get('centroide_ll')!r}, expected 'POINT(longitude latitude)'"
                )
            points.append((float(found.group(2)), float(found.group(1))))
        if not points:
            return None
        return sum(p[0] for p in points) / len(points), sum(p[1] for p in points) / len(points)
