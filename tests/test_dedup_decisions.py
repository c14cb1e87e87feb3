"""Operator control and identity over runs: decisions that hold on every later run, services
found in two sources under two names, and ids that survive a reformatted phone number."""

from __future__ import annotations

from pathlib import Path

import pytest

from servicemap.dedup import (
    DecisionsError,
    OperatorDecisions,
    PairDecision,
    deduplicate,
    load_decisions,
)
from servicemap.normalize.phones import normalize_phone
from tests.test_dedup import WELZIJN_PHONE, WELZIJNSHUIS, record, service_of, together

NO_DECISIONS = OperatorDecisions()


def test_must_link_joins_two_listings_the_scores_keep_apart():
    site = record("welzijn-de-linde:burenhulp", "Buren voor Buren", organization="Stichting Welzijn De Linde")
    kaart = record("sociale-kaart:burenhulp", "Burenhulp De Linde", organization="Welzijn De Linde")
    decisions = OperatorDecisions(
        must_link=[PairDecision(a=site.record_id, b=kaart.record_id, reason="één dienst, twee namen")]
    )

    assert not together(deduplicate([site, kaart], decisions=NO_DECISIONS), site.record_id, kaart.record_id)
    result = deduplicate([site, kaart], decisions=decisions)

    assert together(result, site.record_id, kaart.record_id)
    assert "must-link: één dienst, twee namen" in result.matches[0].reasons[0]


def test_cannot_link_keeps_two_records_apart_even_through_a_third():
    shared = dict(phones=[WELZIJN_PHONE], address=WELZIJNSHUIS, organization="Stichting Welzijn De Linde")
    site = record("welzijn-de-linde:rouwcafe", "Rouwcafé De Linde", **shared)
    kaart = record("sociale-kaart:rouwcafe", "Rouwcafé De Linde", **shared)
    gids = record("zorggids:rouwcafe", "Rouwcafé De Linde", **shared)
    assert together(deduplicate([site, kaart, gids], decisions=NO_DECISIONS), site.record_id, gids.record_id)
    decisions = OperatorDecisions(
        cannot_link=[PairDecision(a=site.record_id, b=gids.record_id, reason="twee rouwcafés")]
    )

    result = deduplicate([site, kaart, gids], decisions=decisions)

    assert not together(result, site.record_id, gids.record_id)
    assert any("cannot-link: twee rouwcafés" in pair.reasons[-1] for pair in result.uncertain)


def test_a_pair_both_linked_and_kept_apart_is_refused_by_name(tmp_path: Path):
    path = tmp_path / "decisions.yaml"
    path.write_text(
        "must_link: [{a: 'x:1', b: 'y:2', reason: zelfde}]\n"
        "cannot_link: [{a: 'y:2', b: 'x:1', reason: anders}]\n",
        encoding="utf-8",
    )

    with pytest.raises(DecisionsError) as caught:
        load_decisions(path)

    message = str(caught.value)
    assert str(path) in message
    assert "pairs [('x:1', 'y:2')] are both must_link and cannot_link" in message


def test_packaged_decisions_load():
    assert isinstance(load_decisions(), OperatorDecisions)


def test_listings_of_one_organisation_in_two_sources_pair_by_closest_counterpart():
    # A welfare organisation and the sociale kaart name its services differently; its phone is
    # on every entry of both sources, so only the activity's email and the text tell them apart.
    def linde(source_key: str, name: str, description: str, email: str):
        return record(
            source_key,
            name,
            description=description,
            phones=[WELZIJN_PHONE],
            emails=[email],
            organization="De Linde",
        )

    site = [
        linde(
            "welzijn-de-linde:samen-eten",
            "Samen eten Lindeveen",
            "Elke donderdag samen koken en eten in de wijk.",
            "eten@delinde.nl",
        ),
        linde(
            "welzijn-de-linde:taalcafe",
            "Taalcafé Het Kwartier",
            "Nederlands oefenen met vrijwilligers.",
            "taal@delinde.nl",
        ),
    ]
    kaart = [
        linde(
            "sociale-kaart:maaltijd",
            "Buurtmaaltijd Samen eten",
            "Samen koken en eten, elke donderdag in de wijk.",
            "eten@delinde.nl",
        ),
        linde(
            "sociale-kaart:taal",
            "Taalcafé De Linde",
            "Oefen Nederlands met vrijwilligers in het Kwartier.",
            "taal@delinde.nl",
        ),
    ]

    result = deduplicate(site + kaart, decisions=NO_DECISIONS)

    assert together(result, "welzijn-de-linde:samen-eten", "sociale-kaart:maaltijd")
    assert together(result, "welzijn-de-linde:taalcafe", "sociale-kaart:taal")
    assert len(result.services) == 2


def test_ids_stay_when_a_source_writes_its_phone_numbers_differently():
    def listing(phone_as_written: str):
        return [
            record("welzijn-de-linde:ouderenadviseur", "Ouderenadviseur", phones=[WELZIJN_PHONE]),
            record(
                "sociale-kaart:ouderenadviseur",
                "Ouderenadviseur De Linde",
                phones=[normalize_phone(phone_as_written).number],
            ),
        ]

    first = deduplicate(listing("030 - 276 41 18"), decisions=NO_DECISIONS)
    previous = {s.id: [m.record_id for m in s.members] for s in first.services}
    second = deduplicate(listing("+31 (0)30 2764118"), previous=previous, decisions=NO_DECISIONS)

    [service] = second.services
    assert service.id == service_of(first, "sociale-kaart:ouderenadviseur")
    assert second.splits_and_merges == []
