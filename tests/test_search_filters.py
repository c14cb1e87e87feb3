"""Search as a GP narrows it: ZRM and Positive Health, sector, access, language, distance from a
postcode, words that are filters, compounds, stop words, accents and the score's explanation."""

from datetime import datetime

import pytest

from servicemap.publish import engine_for, publish_directory
from servicemap.publish.db import reading
from servicemap.publish.text import compound_tails, compound_vocabulary
from servicemap.records import Label
from servicemap.search import InvalidQuery, SearchFilters, rank, search
from servicemap.search import query as search_query
from tests.conftest import demo_service_list


def names(hits) -> list[str]:
    return [h.name for h in hits]


def _label(taxonomy: str, term: str, label: str) -> Label:
    return Label(taxonomy=taxonomy, term=term, term_label=label, confidence=0.8, evidence=["test"])


# Two places 2.2 km apart in Brederwijk, and one in Lindeloo 30 km away.
CENTRE = (52.0907, 5.1214)
NEAR = (52.1100, 5.1300)
FAR = (52.3600, 5.2000)


@pytest.fixture
def located_db(db_url, make_service):
    """The demo services with positions, sectors, access routes and one English-language service."""
    services = demo_service_list()
    by_name = {s.name: s for s in services}
    updates = {
        "Schuldhulpverlening": dict(
            latitude=CENTRE[0], longitude=CENTRE[1], sector="sociaal_domein", access="via_aanmelding"
        ),
        "Thuisadministratie": dict(
            latitude=NEAR[0], longitude=NEAR[1], sector="vrijwillig_informeel", access="via_aanmelding"
        ),
        "Wijkteam Brederwijk-Noord": dict(
            latitude=FAR[0], longitude=FAR[1], sector="sociaal_domein", access="vrij_toegankelijk"
        ),
    }
    for name, values in updates.items():
        service = by_name[name]
        labels = [
            *service.labels,
            _label("sector", values.pop("sector"), "Sector"),
            _label("access", values.pop("access"), "Toegang"),
        ]
        by_name[name] = service.model_copy(update={**values, "labels": labels})
    by_name["Juridisch Spreekuur"] = by_name["Juridisch Spreekuur"].model_copy(update={"language": "en"})
    extra = make_service(
        "Formulierenhulp",
        "Welzijn Brederwijk",
        "Brederwijk",
        "Vrijwilligers helpen met het invullen van formulieren en brieven van instanties.",
        ["finances"],
        ["adults"],
        postcode="9999 AB",
    )
    cafe = make_service(
        "Taalcafé De Brug",
        "Welzijn Brederwijk",
        "Brederwijk",
        "Oefen Nederlands met vrijwilligers, elke week.",
        ["social_participation"],
        ["adults"],
        postcode="9999 AB",
    )
    publish_directory(
        db_url,
        [*by_name.values(), extra, cafe],
        [],
        run_id="filters-1",
        synonyms=[["eenzaam", "eenzaamheid", "alleen"], ["schuldhulp", "hulp bij schulden"]],
    )
    return db_url


def test_zrm_and_positive_health_select_their_life_domains(located_db):
    # ZRM 'Financiën' and Positive Health 'Dagelijks functioneren' both cover finances.
    assert names(search(located_db, "", zrm="Financiën")) == [
        "Formulierenhulp",
        "Schuldhulpverlening",
        "Thuisadministratie",
    ]
    assert "Maatjesproject Samen Op Pad" in names(search(located_db, "", positive_health="meedoen"))
    assert "Schuldhulpverlening" not in names(search(located_db, "", positive_health="Meedoen"))


def test_sector_access_and_language_filters(located_db):
    assert names(search(located_db, "", sector="vrijwillig_informeel")) == ["Thuisadministratie"]
    assert names(search(located_db, "", access="vrij_toegankelijk")) == ["Wijkteam Brederwijk-Noord"]
    assert names(search(located_db, "", language="en")) == ["Juridisch Spreekuur"]


@pytest.mark.parametrize(
    "filters",
    [
        {"municipality": "Brederwijk"},
        {"domain": "finances"},
        {"sector": "sociaal_domein", "municipality": "brederwijk"},
        {"audience": "adults", "language": "nl"},
        {"zrm": "Financiën", "include_inactive": True},
        {"domain": "finances", "near_postcode": "9999 AA", "radius_km": 15},
    ],
)
def test_a_list_counts_the_services_it_lists(located_db, filters, monkeypatch):
    """Counted as when many pass (SQLite then finds those that pass its filters by the index's
    tags), the count is the number of services the list holds."""
    monkeypatch.setattr(search_query, "PREFILTER_MAX", 0)
    listed = search(located_db, "", limit=100, **filters)
    with reading(engine_for(located_db)) as connection:
        counted = rank(connection, located_db, "", SearchFilters(**filters), limit=1, counted=True)
    assert listed
    assert counted.total == len(listed)


def test_distance_from_a_postcode_keeps_the_services_within_the_radius(located_db):
    # '9999 AA' is where the three located services in Brederwijk have their address, so its
    # centroid lies between them; only the far one is 25 km away.
    near = search(located_db, "", near_postcode="9999AA", radius_km=15)

    assert set(names(near)) == {"Schuldhulpverlening", "Thuisadministratie"}
    assert all(h.distance_km is not None and h.distance_km < 15 for h in near)
    assert set(names(search(located_db, "", near_postcode="9999", radius_km=50))) == {
        "Schuldhulpverlening",
        "Thuisadministratie",
        "Wijkteam Brederwijk-Noord",
    }


def test_a_postcode_without_located_addresses_is_a_clear_error(located_db):
    with pytest.raises(InvalidQuery, match="no located address with this postcode"):
        search(located_db, "schuld", near_postcode="1234 AB")


def test_a_municipality_or_postcode_typed_in_the_query_filters(located_db):
    assert names(search(located_db, "vrijwilliger lindeloo")) == ["Maatjesproject Samen Op Pad"]
    assert "Wijkteam Brederwijk-Noord" in names(search(located_db, "zorg"))
    assert "Wijkteam Brederwijk-Noord" not in names(search(located_db, "zorg 9999 aa"))


def test_stop_words_and_a_synonym_phrase_do_not_narrow_the_query(located_db):
    # 'bij' is not needed in the text; 'hulp bij schulden' is the synonym of 'schuldhulp'.
    assert names(search(located_db, "hulp bij formulieren"))[0] == "Formulierenhulp"
    assert names(search(located_db, "hulp bij schulden"))[0] == "Schuldhulpverlening"


def test_accents_are_folded_on_both_sides(located_db):
    assert names(search(located_db, "taalcafe")) == ["Taalcafé De Brug"]
    assert names(search(located_db, "Taalcafé")) == ["Taalcafé De Brug"]


def test_a_service_with_all_words_ranks_above_those_with_one(located_db):
    hits = names(search(located_db, "eenzaam vrijwilliger"))

    # Only the Maatjesproject has both; the services with volunteers alone follow it.
    assert hits[0] == "Maatjesproject Samen Op Pad"
    assert set(hits[1:]) == {"Taalcafé De Brug", "Formulierenhulp"}


def test_explain_says_which_fields_matched(located_db):
    [hit, *_] = search(located_db, "formulieren vrijwilligers", explain=True)

    assert hit.name == "Formulierenhulp"
    assert {(m.word, tuple(m.fields)) for m in hit.explanation} == {
        ("formulieren", ("name", "description")),
        ("vrijwilligers", ("description",)),
    }
    assert search(located_db, "formulieren")[0].explanation is None


def test_a_compound_is_found_by_its_tail():
    vocabulary = compound_vocabulary(["schuld", "schuldhulp", "mantelzorg"])

    assert compound_tails("schuldhulpverlening", vocabulary) == ["hulpverlening", "verlening"]
    assert compound_tails("mantelzorgsteunpunt", vocabulary) == ["steunpunt"]
    assert compound_tails("overleden", vocabulary) == []


def test_a_word_found_only_inside_a_compound_name(located_db):
    # 'hulp' is the tail of 'Formulierenhulp' ('formulieren' is a word of the directory).
    assert "Formulierenhulp" in names(search(located_db, "hulp"))


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"zrm": "Geld"}, r"zrm 'Geld' is not in the taxonomy \(expected one of \[.*'Financiën'"),
        ({"positive_health": "Geluk"}, "positive_health 'Geluk' is not in the taxonomy"),
        ({"sector": "markt"}, "sector 'markt' is not a term of the published 'sector' taxonomy"),
        ({"access": "altijd"}, "access 'altijd' is not a term"),
        ({"near_postcode": "35111"}, "near_postcode '35111' is not a Dutch postcode"),
        ({"near_postcode": "0123 AB"}, "is not a Dutch postcode"),
        ({"radius_km": 5}, "radius_km=5 needs a near_postcode"),
        ({"near_postcode": "9999", "radius_km": 0}, r"radius_km=0: expected more than 0"),
        ({"language": "Nederlands"}, "language 'Nederlands' is not a language code"),
    ],
)
def test_a_bad_filter_says_what_to_change(located_db, filters, message):
    with pytest.raises(InvalidQuery, match=message):
        search(located_db, "schuld", **filters)


def test_open_at_uses_the_weekly_hours(located_db):
    # Every demo service is open on Monday 09:00-12:00; 'op afspraak' notes do not count.
    monday_morning = datetime(2026, 3, 2, 10, 30)
    monday_noon = datetime(2026, 3, 2, 12, 0)
    tuesday_morning = datetime(2026, 3, 3, 10, 30)

    assert len(search(located_db, "", municipality="Lindeloo", open_at=monday_morning)) == 3
    assert search(located_db, "", municipality="Lindeloo", open_at=monday_noon) == []
    assert search(located_db, "schuld", open_at=tuesday_morning) == []
