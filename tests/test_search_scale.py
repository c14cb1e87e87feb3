"""What search does for a large directory and the filters added with it: the capped ranking gives
the same hits as ranking every match, the age filter reads the audience's ages, and a postcode
the directory does not know is located by the PDOK Locatieserver when one is set (here a fake
server on 127.0.0.1)."""

import json
import threading
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest

from servicemap.publish import publish_directory
from servicemap.records import Label
from servicemap.search import InvalidQuery, search
from servicemap.search import query as search_query
from servicemap.search.geocode import GEOCODER_URL_ENV, PdokGeocoder

# Where the fake Locatieserver puts postcode 1234 AB: 2 km north of the Lindeveen services.
LINDEVEEN = (52.1100, 5.2700)
PDOK_POINT = "POINT(5.27 52.128)"


def names(hits) -> set[str]:
    return {h.name for h in hits}


def _audience(service, *terms: str):
    labels = [
        *service.labels,
        *(
            Label(taxonomy="audience", term=t, term_label=t.title(), confidence=0.8, evidence=["voor wie"])
            for t in terms
        ),
    ]
    return service.model_copy(update={"labels": labels, "latitude": LINDEVEEN[0], "longitude": LINDEVEEN[1]})


@pytest.fixture
def audience_db(db_url, make_service) -> str:
    def service(name: str, description: str, *audiences: str, municipality: str = "Lindeveen"):
        built = make_service(
            name, "Welzijn Lindeveen", municipality, description, ["social_participation"], postcode="3541 AB"
        )
        return _audience(built, *audiences)

    services = [
        service("Jongerenwerk De Schakel", "Jongerenwerkers voor jongeren tot 27 jaar, ontmoeting.", "jeugd"),
        service("Ouderenadvies Lindeveen", "Ouderenadviseurs voor ontmoeting en vragen.", "ouderen"),
        service("Steunpunt Mantelzorg", "Ontmoeting en respijt voor mantelzorgers.", "mantelzorgers"),
        service("Jonge Mantelzorgers", "Ontmoeting voor jonge mantelzorgers.", "jeugd", "mantelzorgers"),
        service("Buurthuis De Linde", "Ontmoeting voor iedereen in de wijk.", "volwassenen"),
        service("Maatjes Aldermeer", "Ontmoeting met een maatje.", "volwassenen", municipality="Aldermeer"),
    ]
    publish_directory(db_url, services, [], run_id="ages-1")
    return db_url


def test_age_keeps_services_whose_audience_admits_it(audience_db):
    child = names(search(audience_db, "", age=12))
    older = names(search(audience_db, "ontmoeting", age=70))

    assert child == {"Jongerenwerk De Schakel", "Steunpunt Mantelzorg", "Jonge Mantelzorgers"}
    assert older == {
        "Ouderenadvies Lindeveen",
        "Steunpunt Mantelzorg",
        "Buurthuis De Linde",
        "Maatjes Aldermeer",
    }
    # 'tot 27 jaar': 26 is still youth, 27 is not.
    assert "Jongerenwerk De Schakel" in names(search(audience_db, "", age=26))
    assert "Jongerenwerk De Schakel" not in names(search(audience_db, "", age=27))


@pytest.mark.parametrize("age", [-1, 121])
def test_an_age_out_of_range_is_a_clear_error(audience_db, age):
    with pytest.raises(InvalidQuery, match=rf"age={age}: expected a whole number of years"):
        search(audience_db, "ontmoeting", age=age)


def test_capped_ranking_gives_the_hits_of_ranking_every_match(audience_db, monkeypatch):
    asked = [
        ("ontmoeting", {}),
        ("ontmoeting", {"municipality": "Aldermeer"}),
        ("ontmoeting", {"age": 70}),
        ("mantelzorgers ontmoeting", {}),
        ("ontmoeting", {"near_postcode": "3541", "radius_km": 5}),
    ]

    def scores(hits) -> list[float]:
        return [round(h.score, 6) for h in hits]

    # A filter that few services pass (here: every filter) is applied before ranking.
    filtered_first = [search(audience_db, q, limit=4, **f) for q, f in asked]
    # No filter counts as selective: the best matches are ranked first, then filtered.
    monkeypatch.setattr(search_query, "PREFILTER_MAX", 0)
    every_match = [search(audience_db, q, limit=4, **f) for q, f in asked]
    # Two candidates, then four: the filters leave too few, so all matches are ranked.
    monkeypatch.setattr(search_query, "CANDIDATE_CAP", 4)
    monkeypatch.setattr(search_query, "FIRST_CANDIDATES", 0.5)
    monkeypatch.setattr(search_query, "FIRST_CANDIDATES_CHECKED", 0.5)
    capped = [search(audience_db, q, limit=4, **f) for q, f in asked]
    # Too many matches to check each: the services that pass are read and their matches ranked.
    monkeypatch.setattr(search_query, "MATCHES_FIRST_MAX", 0)
    passing_first = [search(audience_db, q, limit=4, **f) for q, f in asked]

    # The same scores in the same order; services with equal scores may change places.
    assert [scores(hits) for hits in capped] == [scores(hits) for hits in every_match]
    assert [scores(hits) for hits in filtered_first] == [scores(hits) for hits in every_match]
    assert [scores(hits) for hits in passing_first] == [scores(hits) for hits in every_match]
    assert [len(hits) for hits in every_match] == [4, 1, 4, 4, 4]
    assert names(capped[1]) == {"Maatjes Aldermeer"}
    assert names(capped[2]) & {"Jongerenwerk De Schakel", "Jonge Mantelzorgers"} == set()


def test_when_none_of_the_best_matches_pass_the_capped_ranking_is_not_widened(audience_db, monkeypatch):
    # Nothing is open at 3 at night: none of the best matches pass, and none of the next
    # CANDIDATE_CAP would. Those are not ranked; every match is checked against the filters.
    monkeypatch.setattr(search_query, "PREFILTER_MAX", 0)
    monkeypatch.setattr(search_query, "CANDIDATE_CAP", 4)
    monkeypatch.setattr(search_query, "FIRST_CANDIDATES_CHECKED", 0.5)
    ranked_caps = []
    best_passing = search_query._best_passing

    def recording(connection, expression, filters, cap, limit, in_titles=False):
        ranked_caps.append(cap)
        return best_passing(connection, expression, filters, cap, limit, in_titles)

    monkeypatch.setattr(search_query, "_best_passing", recording)
    night = datetime(2026, 3, 2, 3, 0)
    assert search(audience_db, "ontmoeting", limit=4, open_at=night) == []
    assert ranked_caps and search_query.CANDIDATE_CAP not in ranked_caps


class _FakeLocatieserver(BaseHTTPRequestHandler):
    """Answers the `free` search as the Locatieserver does, for postcode 1234 AB only."""

    def do_GET(self):  # noqa: N802 - the http.server API
        url = urlparse(self.path)
        query = parse_qs(url.query)
        self.server.asked.append(query)
        if "/fail/" in url.path:
            self.send_error(503)
            return
        known = query.get("q") in (["postcode:1234AB"], ["postcode:1234*"])
        docs = [{"centroide_ll": PDOK_POINT}] if known and query.get("fq") == ["type:postcode"] else []
        body = json.dumps({"response": {"numFound": len(docs), "docs": docs}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def locatieserver() -> Iterator[tuple[str, list]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeLocatieserver)
    server.asked = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/bzk/locatieserver/search/v3_1", server.asked
    server.shutdown()
    server.server_close()


def test_a_postcode_outside_the_directory_is_located_by_the_geocoder(audience_db, locatieserver):
    base_url, asked = locatieserver
    hits = search(
        audience_db, "ontmoeting", near_postcode="1234 AB", radius_km=3, geocoder=PdokGeocoder(base_url)
    )

    assert names(hits) == {
        "Jongerenwerk De Schakel",
        "Ouderenadvies Lindeveen",
        "Steunpunt Mantelzorg",
        "Jonge Mantelzorgers",
        "Buurthuis De Linde",
        "Maatjes Aldermeer",
    }
    assert all(1.9 < h.distance_km < 2.1 for h in hits)
    assert asked[0]["q"] == ["postcode:1234AB"]
    assert search(audience_db, "", near_postcode="1234", radius_km=1, geocoder=PdokGeocoder(base_url)) == []


def test_the_geocoder_is_off_unless_its_url_is_set(audience_db, locatieserver, monkeypatch):
    base_url, asked = locatieserver
    monkeypatch.delenv(GEOCODER_URL_ENV, raising=False)
    with pytest.raises(InvalidQuery, match="no located address with this postcode"):
        search(audience_db, "ontmoeting", near_postcode="1234 AB")
    assert asked == []

    monkeypatch.setenv(GEOCODER_URL_ENV, base_url)
    assert len(search(audience_db, "ontmoeting", near_postcode="1234 AB", radius_km=3)) == 6
    # A postcode the directory has is never sent out.
    search(audience_db, "ontmoeting", near_postcode="3541 AB")
    assert len(asked) == 1


def test_a_postcode_neither_knows_or_a_failing_geocoder_is_a_clear_error(audience_db, locatieserver):
    base_url, _ = locatieserver
    with pytest.raises(InvalidQuery, match="no located address with this postcode"):
        search(audience_db, "ontmoeting", near_postcode="4321 XY", geocoder=PdokGeocoder(base_url))
    with pytest.raises(InvalidQuery, match="the geocoder failed .*503"):
        search(audience_db, "ontmoeting", near_postcode="4321 XY", geocoder=PdokGeocoder(base_url + "/fail"))
