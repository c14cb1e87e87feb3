"""Deduplication as a directory user relies on it: one service per real service, never two
services in one, the same ids next week, and every crawled record accounted for."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from servicemap.dedup import (
    DedupSettingsError,
    DuplicateRecordId,
    IdChange,
    deduplicate,
    explain_pair,
    load_dedup_settings,
)
from servicemap.dedup.bulk import containments
from servicemap.dedup.scoring import DEFAULT_SETTINGS_PATH
from servicemap.records import Address, NormalizedRecord, Phone

FETCHED = datetime(2026, 3, 2, 9, 30)
WELZIJN_PHONE = "+31302764118"
WIJKTEAM_PHONE = "+31302764200"
HUMANITAS_PHONE = "+31302769931"
GEMEENTEHUIS = Address(street="Marktplein", house_number="1", postcode="3731 AA", city="Brederwijk")
WELZIJNSHUIS = Address(street="Kerkstraat", house_number="14", postcode="3732 CK", city="Brederwijk")


def record(source_key: str, name: str, **fields) -> NormalizedRecord:
    """A validated record as the normalize stage hands it over: `source_key` is 'source:key'."""
    source_id, key = source_key.split(":", 1)
    fields.setdefault("municipality", "Brederwijk")
    fields.setdefault("fetched_at", FETCHED)
    fields["phones"] = [Phone(number=n, kind="landline") for n in fields.get("phones", [])]
    return NormalizedRecord(
        record_id=source_key,
        source_id=source_id,
        url=f"https://{source_id}.example.nl/{key}",
        extraction="html",
        name=name,
        **fields,
    )


def service_of(result, record_id: str) -> str:
    [service] = [s for s in result.services if record_id in {m.record_id for m in s.members}]
    return service.id


def together(result, *record_ids: str) -> bool:
    return len({service_of(result, r) for r in record_ids}) == 1


# --- which records are one service ---------------------------------------------------------


def test_two_services_of_one_organisation_at_one_address_stay_apart():
    contact = dict(
        organization="Stichting Welzijn Brederwijk",
        address=WELZIJNSHUIS,
        phones=[WELZIJN_PHONE],
        emails=["info@welzijnbrederwijk.nl"],
    )
    schuldhulp = record("welzijn-brederwijk:schuldhulp", "Schuldhulp", **contact)
    formulieren = record("sociale-kaart:formulierenhulp", "Formulierenhulp", **contact)

    result = deduplicate([schuldhulp, formulieren])

    assert len(result.services) == 2
    explanation = explain_pair(schuldhulp, formulieren)
    assert explanation.decision == "non_match"
    assert {"phone", "email", "address"} <= set(explanation.agreeing())
    assert "names disagree" in explanation.reasons[0]


def test_municipality_and_provider_listing_of_one_service_merge():
    gemeente = record(
        "gemeente-brederwijk:wmo-loket",
        "Wmo-loket",
        organization="Gemeente Brederwijk",
        phones=[WIJKTEAM_PHONE],
        address=GEMEENTEHUIS,
        website="https://www.brederwijk.nl/wmo-loket",
    )
    wijkteam = record(
        "wijkteam-brederwijk:wmo",
        "Wmo loket Brederwijk",
        organization="Sociaal Wijkteam Brederwijk",
        phones=[WIJKTEAM_PHONE],
        address=WELZIJNSHUIS,
        website="https://sociaalwijkteambrederwijk.nl/wmo",
        description="Voor vragen over hulp bij het huishouden, een scootmobiel of aanpassingen in huis.",
    )

    result = deduplicate([gemeente, wijkteam], trust={"gemeente-brederwijk": 0.9, "wijkteam-brederwijk": 0.6})

    [service] = result.services
    assert service.name == "Wmo-loket"  # the municipality is the more trusted source
    assert service.field_lineage["name"].record_id == "gemeente-brederwijk:wmo-loket"
    assert service.description.startswith("Voor vragen over hulp bij het huishouden")
    assert service.field_lineage["description"].url == "https://wijkteam-brederwijk.example.nl/wmo"
    [match] = result.matches
    assert "phone" in match.agreeing()


def test_same_product_in_two_municipalities_stays_two_services():
    # One intergemeentelijke sociale dienst answers the phone for both municipalities.
    brederwijk = record(
        "sc-brederwijk:bijzondere-bijstand",
        "Bijzondere bijstand",
        organization="Gemeente Brederwijk",
        phones=[WELZIJN_PHONE],
        extra={"upl": "Bijzondere bijstand"},
    )
    lindehoven = record(
        "sc-lindehoven:bijzondere-bijstand",
        "Bijzondere bijstand",
        organization="Gemeente Lindehoven",
        municipality="Lindehoven",
        phones=[WELZIJN_PHONE],
        extra={"upl": "Bijzondere bijstand"},
    )

    result = deduplicate([brederwijk, lindehoven])

    assert len(result.services) == 2
    explanation = explain_pair(brederwijk, lindehoven)
    assert explanation.decision == "non_match"
    assert "two municipalities" in explanation.conflicts[0]


def test_same_product_listed_twice_by_one_municipality_merges_on_upl():
    feed = record(
        "sc-brederwijk:pdc-412",
        "Bijzondere bijstand aanvragen",
        organization="Gemeente Brederwijk",
        extra={"upl": "Bijzondere bijstand"},
    )
    site = record(
        "gemeente-brederwijk:bijzondere-bijstand",
        "Bijzondere bijstand",
        organization="Gemeente Brederwijk",
        extra={"upl": "Bijzondere bijstand"},
    )

    assert len(deduplicate([feed, site]).services) == 1


def test_a_weak_link_does_not_chain_two_organisations_into_one_service():
    # A and B: one welfare organisation, listed twice. C: another organisation in the same
    # building with its own phone. B~C agree on name and address only.
    a = record(
        "welzijn-brederwijk:schuldhulp",
        "Schuldhulp",
        organization="Stichting Welzijn Brederwijk",
        phones=[WELZIJN_PHONE],
        emails=["schuldhulp@welzijnbrederwijk.nl"],
        address=WELZIJNSHUIS,
    )
    b = record(
        "sociale-kaart:welzijn-schuldhulp",
        "Schuldhulp",
        organization="Welzijn Brederwijk",
        emails=["schuldhulp@welzijnbrederwijk.nl"],
        address=WELZIJNSHUIS,
    )
    c = record(
        "humanitas-brederwijk:schuldhulp",
        "Schuldhulp",
        organization="Humanitas Brederwijk",
        phones=[HUMANITAS_PHONE],
        address=WELZIJNSHUIS,
    )
    assert explain_pair(b, c).decision == "match"  # on its own, B~C would join

    result = deduplicate([a, b, c])

    assert together(result, a.record_id, b.record_id)
    assert not together(result, a.record_id, c.record_id)
    [refused] = [e for e in result.uncertain if "not joined" in e.reasons[-1]]
    assert {refused.a, refused.b} == {b.record_id, c.record_id}
    assert "different organisations" in refused.reasons[-1]
    assert {(m.a, m.b) for m in result.matches} == {tuple(sorted((a.record_id, b.record_id)))}


def test_one_organisation_in_two_municipalities_keeps_two_locations():
    # One regional GGD, one appointments line and one mailbox for every consultatiebureau.
    shared = dict(
        organization="GGD Regio Lindewaard", phones=[WIJKTEAM_PHONE], emails=["jgz@ggdlindewaard.nl"]
    )
    brederwijk = record(
        "ggd-lindewaard:cb-brederwijk",
        "Consultatiebureau Vlinderhof",
        address=Address(street="Vlinderhof", house_number="12", postcode="3513 NV", city="Brederwijk"),
        **shared,
    )
    lindeveen = record(
        "sociale-kaart:cb-lindeveen",
        "Consultatiebureau Lindeveen",
        municipality="Lindeveen",
        address=Address(street="Schoolstraat", house_number="9", postcode="3543 AD", city="Lindeveen"),
        **shared,
    )

    result = deduplicate([brederwijk, lindeveen])

    assert len(result.services) == 2
    assert "two places in two municipalities" in explain_pair(brederwijk, lindeveen).conflicts[0]


def test_names_may_differ_more_when_two_contact_details_agree():
    contact = dict(phones=[WIJKTEAM_PHONE], emails=["inburgering@brederwijk.nl"])
    site = record("gemeente-brederwijk:inburgering", "Inburgering", **contact)
    feed = record("sc-brederwijk:pdc-77", "Inburgeringsroute Brederwijk", **contact)
    only_phone = record("sociale-kaart:taalcafe", "Taalcafé Brederwijk", phones=[WIJKTEAM_PHONE])

    assert explain_pair(site, feed).decision == "match"
    assert explain_pair(site, only_phone).decision == "non_match"


def test_contact_details_a_source_gives_several_services_do_not_corroborate_a_name():
    # One welfare organisation's site: two living rooms in two districts, one phone number.
    noord = record(
        "welzijn-de-linde:wijkhuiskamer-noord",
        "Wijkhuiskamer Noord",
        organization="Stichting Welzijn De Linde",
        phones=[WELZIJN_PHONE],
        address=Address(street="Noordersingel", house_number="3", postcode="3541 AB", city="Brederwijk"),
    )
    zuid = record(
        "welzijn-de-linde:wijkhuiskamer-zuid",
        "Wijkhuiskamer Zuid",
        organization="Stichting Welzijn De Linde",
        phones=[WELZIJN_PHONE],
        address=Address(street="Zuiderlaan", house_number="41", postcode="3542 CD", city="Brederwijk"),
    )

    result = deduplicate([noord, zuid])

    assert len(result.services) == 2
    pair = explain_pair(noord, zuid)
    assert pair.decision == "non_match"
    [phone] = [f for f in pair.features if f.feature == "phone"]
    assert phone.similarity == load_dedup_settings().shared_contact
    assert "which one source gives several services" in phone.detail


@pytest.mark.parametrize("shared", ["phone", "address"])
def test_name_variants_of_one_service_merge_when_phone_or_address_agrees(shared):
    contact = {"phones": [WELZIJN_PHONE]} if shared == "phone" else {"address": WELZIJNSHUIS}
    records = [
        record(
            "gemeente-brederwijk:schulden",
            "Schuldhulpverlening",
            organization="Gemeente Brederwijk",
            **contact,
        ),
        record("welzijn-brederwijk:schuldhulp", "Schuldhulp", organization="Welzijn Brederwijk", **contact),
        record("sociale-kaart:schulden", "Hulp bij schulden", **contact),
    ]

    result = deduplicate(records)

    assert len(result.services) == 1


def test_same_name_without_shared_contact_data_is_left_for_review():
    plein = record(
        "sociale-kaart:schuldhulp-plein", "Schuldhulp", organization="Het Plein", phones=[WIJKTEAM_PHONE]
    )
    kerk = record(
        "schuldhulpmaatje:schuldhulp-kerk", "Schuldhulp", organization="SchuldHulpMaatje Brederwijk"
    )

    result = deduplicate([plein, kerk])

    assert len(result.services) == 2
    [pair] = result.uncertain
    assert "nothing of" in pair.reasons[0]


# --- what the blocking does --------------------------------------------------------------


def test_blocking_reports_each_rule_and_stays_far_below_all_pairs():
    # 300 products of one municipality, all answered by the same 14 0xx number.
    products = [
        record(
            f"sc-brederwijk:product-{n}",
            f"Product {n} aanvragen",
            organization="Gemeente Brederwijk",
            phones=["+3114073"],
            extra={"upl": f"Product {n}"},
        )
        for n in range(300)
    ]

    result = deduplicate(products)

    settings = load_dedup_settings()
    assert set(result.blocking) == set(settings.blocking.rules)
    assert result.blocking["phone"] > 0
    assert result.windowed_blocks["phone"] == 1
    assert result.pairs_compared < len(products) * (len(products) - 1) // 2 // 10
    assert len(result.services) == 300


def test_every_record_ends_in_exactly_one_service():
    records = [
        record("gemeente-brederwijk:schulden", "Schuldhulpverlening", phones=[WELZIJN_PHONE]),
        record("welzijn-brederwijk:schuldhulp", "Schuldhulp", phones=[WELZIJN_PHONE]),
        record("welzijn-brederwijk:formulierenhulp", "Formulierenhulp", phones=[WIJKTEAM_PHONE]),
        record("welzijn-brederwijk:maatjes", "Maatjesproject", address=WELZIJNSHUIS),
        record("sociale-kaart:maatjes", "Maatjes project Brederwijk", address=WELZIJNSHUIS),
        record("sociale-kaart:inloop", "Inloopspreekuur ouderen"),
    ]

    result = deduplicate(records)

    members = [m.record_id for s in result.services for m in s.members]
    assert sorted(members) == sorted(r.record_id for r in records)
    assert result.member_count == len(records)
    assert len(result.services) == 4  # schuldhulp (2), formulierenhulp, maatjes (2), inloop


def test_a_record_id_given_twice_is_refused_by_name():
    twice = record("sociale-kaart:inloop", "Inloopspreekuur")
    with pytest.raises(DuplicateRecordId, match="sociale-kaart:inloop"):
        deduplicate([twice, twice])


# --- golden records ----------------------------------------------------------------------


def test_golden_fields_follow_trust_then_completeness_then_recency():
    older = record(
        "wegwijs-brederwijk:maatjes",
        "Maatjesproject Brederwijk",
        phones=[WELZIJN_PHONE],
        description="Een maatje voor wie er alleen voor staat.",
        address=Address(street="Kerkstraat", house_number="14", postcode="3732 CK"),
        emails=["maatjes@welzijnbrederwijk.nl"],
        fetched_at=FETCHED - timedelta(days=30),
    )
    newer = record(
        "sociale-kaart:maatjes-2",
        "Maatjesproject",
        phones=[WELZIJN_PHONE, WIJKTEAM_PHONE],
        description="Een maatje voor wie er alleen voor staat.",
        address=WELZIJNSHUIS,
        emails=["Maatjes@welzijnbrederwijk.nl"],
    )
    trusted = record(
        "welzijn-brederwijk:maatjes",
        "Maatjes project",
        phones=[WELZIJN_PHONE],
        fetched_at=FETCHED - timedelta(days=90),
    )

    result = deduplicate([older, newer, trusted], trust={"welzijn-brederwijk": 0.9})

    [service] = result.services
    assert service.name == "Maatjes project"  # most trusted source, though the shortest name
    assert service.field_lineage["name"].record_id == "welzijn-brederwijk:maatjes"
    assert service.address == WELZIJNSHUIS  # equal trust: the fuller address
    assert service.field_lineage["address"].record_id == "sociale-kaart:maatjes-2"
    assert service.field_lineage["description"].record_id == "sociale-kaart:maatjes-2"  # same text: newer
    assert [p.number for p in service.phones] == [WELZIJN_PHONE, WIJKTEAM_PHONE]
    assert service.emails == ["maatjes@welzijnbrederwijk.nl"]
    assert len(service.members) == 3


# --- stable ids --------------------------------------------------------------------------


def _previous(result) -> dict[str, list[str]]:
    return {s.id: [m.record_id for m in s.members] for s in result.services}


def test_ids_survive_a_rerun_in_which_one_record_changed():
    first_records = [
        record("welzijn-brederwijk:schuldhulp", "Schuldhulp", phones=[WELZIJN_PHONE]),
        record("sociale-kaart:schulden", "Hulp bij schulden", phones=[WELZIJN_PHONE]),
        record("welzijn-brederwijk:maatjes", "Maatjesproject", address=WELZIJNSHUIS),
    ]
    first = deduplicate(first_records)
    changed = first_records[1].model_copy(
        update={"description": "Nu ook op zaterdag.", "fetched_at": FETCHED}
    )

    second = deduplicate([first_records[0], changed, first_records[2]], previous=_previous(first))

    assert sorted(s.id for s in second.services) == sorted(s.id for s in first.services)
    assert service_of(second, changed.record_id) == service_of(first, changed.record_id)
    assert second.splits_and_merges == []


def test_a_split_and_a_merge_are_recorded():
    schuldhulp = record("welzijn-brederwijk:schuldhulp", "Schuldhulp", phones=[WELZIJN_PHONE])
    formulieren = record("welzijn-brederwijk:formulierenhulp", "Formulierenhulp", phones=[WIJKTEAM_PHONE])
    maatjes = record("welzijn-brederwijk:maatjes", "Maatjesproject", address=WELZIJNSHUIS)
    maatjes_kaart = record("sociale-kaart:maatjes", "Maatjes project", address=WELZIJNSHUIS)
    split_id, merged_id, absorbed_id = (
        "0b9a3c1e-5a61-4a3e-9d55-2a4f1e6c7d01",
        "5f0c2d7a-93b4-4c8e-8e1f-6d2b3a4c5e02",
        "9e8d7c6b-1a2b-4c3d-8e4f-5a6b7c8d9e03",
    )
    previous = {
        split_id: [schuldhulp.record_id, formulieren.record_id],  # wrongly merged last time
        merged_id: [maatjes.record_id],
        absorbed_id: [maatjes_kaart.record_id],
    }

    result = deduplicate([schuldhulp, formulieren, maatjes, maatjes_kaart], previous=previous)

    assert service_of(result, maatjes.record_id) == merged_id  # ties go to the id sorted first
    new_ids = sorted({service_of(result, schuldhulp.record_id), service_of(result, formulieren.record_id)})
    assert split_id not in new_ids  # neither part keeps more than half of the old service
    assert IdChange(kind="split", old_ids=[split_id], new_ids=new_ids) in result.splits_and_merges
    assert (
        IdChange(kind="merge", old_ids=[merged_id, absorbed_id], new_ids=[merged_id])
        in result.splits_and_merges
    )


# --- settings ----------------------------------------------------------------------------


def test_packaged_settings_load():
    settings = load_dedup_settings()
    assert settings.thresholds.uncertain <= settings.thresholds.match
    assert "stichting" in settings.organization_words


def test_bad_settings_name_every_problem(tmp_path: Path):
    text = DEFAULT_SETTINGS_PATH.read_text(encoding="utf-8")
    text = text.replace("uncertain: 3.5", "uncertain: 9.0").replace("name_token]", "name_tokens]")
    text = text.replace("  description: {agree: 1.0, disagree: 0.5}\n", "")
    text = text.replace("[beperking, gehandicapten]", "[mensen met een beperking]")
    path = tmp_path / "dedup.yaml"
    path.write_text(text, encoding="utf-8")

    with pytest.raises(DedupSettingsError) as caught:
        load_dedup_settings(path)

    message = str(caught.value)
    assert "uncertain (9.0) must not be above match (4.0)" in message
    assert "'name_tokens' is not one of" in message
    assert "no weights for ['description']" in message
    assert "['mensen met een beperking'] are not single words" in message


def test_a_service_no_source_places_in_a_municipality_is_placed_in_its_address_city():
    regional = record("sociale-kaart:samen-aan-tafel", "Samen aan tafel", municipality=None,
                      address=WELZIJNSHUIS, phones=[WELZIJN_PHONE])  # fmt: skip

    [service] = deduplicate([regional]).services

    assert service.municipality == "Brederwijk"
    assert service.field_lineage["municipality"].record_id == "sociale-kaart:samen-aan-tafel"


# --- evidence added for issue 6's recall bar ----------------------------------------------


def _kaart_and_site(site_names: list[str], kaart_names: list[str], **shared) -> list[NormalizedRecord]:
    """An organisation's own site and the regional sociale kaart, each listing its services under
    its own names with the organisation's switchboard on every entry."""
    contact = dict(organization="Stichting Welzijn Brederwijk", phones=[WELZIJN_PHONE], **shared)
    return [
        *(record(f"welzijn-brederwijk:{n.lower().replace(' ', '-')}", n, **contact) for n in site_names),
        *(record(f"sociale-kaart:{n.lower().replace(' ', '-')}", n, **contact) for n in kaart_names),
    ]


def test_an_entry_matched_in_the_other_source_leaves_the_rest_to_pair_up():
    # 'Schuldhulp' matches on its name; the two left over are each other's counterpart even
    # though 'Budgetcoaching' reads more like 'Schuldhulp' than like 'Persoonlijke budgetbegeleiding'.
    records = _kaart_and_site(
        ["Schuldhulp", "Budgetcoaching"],
        ["Schuldhulpverlening", "Persoonlijke budgetbegeleiding"],
    )
    records[1] = records[1].model_copy(update={"description": "Een budgetcoach helpt u rond te komen."})
    records[3] = records[3].model_copy(
        update={"description": "Begeleiding van een budgetcoach om rond te komen van uw inkomen."}
    )

    result = deduplicate(records)

    assert together(result, "welzijn-brederwijk:schuldhulp", "sociale-kaart:schuldhulpverlening")
    assert together(
        result, "welzijn-brederwijk:budgetcoaching", "sociale-kaart:persoonlijke-budgetbegeleiding"
    )
    assert len(result.services) == 2


def test_closest_counterparts_with_two_different_direct_lines_stay_apart():
    # One organisation's mailbox, each other's only candidate, but each gives its own line: two services.
    records = _kaart_and_site(
        ["Budgetcoaching"], ["Persoonlijke budgetbegeleiding"], emails=["info@welzijnbrederwijk.nl"]
    )
    records[0] = records[0].model_copy(update={"phones": [Phone(number="+31302764121", kind="landline")]})
    records[1] = records[1].model_copy(update={"phones": [Phone(number="+31302764122", kind="landline")]})
    text = "Een budgetcoach helpt u een half jaar lang om rond te komen van uw inkomen."
    records = [r.model_copy(update={"description": text}) for r in records]

    result = deduplicate(records)

    assert len(result.services) == 2


def test_an_address_with_and_without_its_unit_addition_is_one_address():
    with_unit = WELZIJNSHUIS.model_copy(update={"addition": "A"})
    site = record("welzijn-brederwijk:maatjes", "Maatjesproject", address=with_unit)
    kaart = record("sociale-kaart:maatjes", "Maatjes project", address=WELZIJNSHUIS)

    explanation = explain_pair(site, kaart)

    assert explanation.decision == "match"
    assert {f.feature: f.similarity for f in explanation.features}["address"] == 1.0


def test_name_containment_is_computed_for_many_pairs_at_once():
    names = [("hulp", "schul"), ("wmo",), ("schuldhulp",), ("wmo", "vervoer"), ("taalcafe",)]

    found = containments(names, names, [0, 1, 4, 2], [2, 3, 2, 4])

    assert found[0] == pytest.approx(0.95)  # 'Hulp bij schulden' in 'Schuldhulp'
    assert 0.0 < found[1] < 0.75  # 'Wmo' is only part of 'Wmo vervoer'
    assert found[2] == 0.0  # nothing of 'taalcafe' in 'schuldhulp'
    assert found[3] == 0.0


def test_a_name_with_and_without_its_accent_is_one_name():
    cafe = record("welzijn-brederwijk:taalcafe", "Taalcafé", phones=[WELZIJN_PHONE], address=WELZIJNSHUIS)
    kaart = record("sociale-kaart:taalcafe", "Taalcafe", phones=[WELZIJN_PHONE], address=WELZIJNSHUIS)

    result = deduplicate([cafe, kaart])

    assert len(result.services) == 1
    [match] = result.matches
    assert next(f for f in match.features if f.feature == "name").similarity == 1.0


def test_bulk_scoring_of_many_pairs_decides_each_as_the_pair_alone():
    records = [
        record(
            "gemeente-brederwijk:schulden",
            "Schuldhulpverlening",
            phones=[WELZIJN_PHONE],
            address=WELZIJNSHUIS,
        ),
        record(
            "welzijn-brederwijk:schuldhulp",
            "Schuldhulp",
            phones=[WELZIJN_PHONE],
            emails=["schuld@welzijn.nl"],
        ),
        record(
            "sociale-kaart:schulden", "Hulp bij schulden", emails=["schuld@welzijn.nl"], address=WELZIJNSHUIS
        ),
        record(
            "sociale-kaart:formulieren", "Formulierenhulp", phones=[HUMANITAS_PHONE], address=GEMEENTEHUIS
        ),
        record("humanitas:formulieren", "Hulp bij formulieren", phones=[HUMANITAS_PHONE]),
    ]

    result = deduplicate(records)

    by_pair = {(e.a, e.b): e for e in [*result.matches, *result.uncertain]}
    assert len(by_pair) >= 4
    for (a, b), explained in by_pair.items():
        alone = explain_pair(*(r for r in records if r.record_id in (a, b)))
        assert (alone.decision, alone.score) == (explained.decision, explained.score), explained.summary()
        assert [f.feature for f in alone.features] == [f.feature for f in explained.features]


def test_one_activity_for_two_audiences_stays_two_services():
    contact = dict(
        organization="Stichting Welzijn Brederwijk",
        phones=[WELZIJN_PHONE],
        emails=["taalcafe@welzijnbrederwijk.nl"],
        address=WELZIJNSHUIS,
        description="Oefen Nederlands in een ontspannen sfeer met andere deelnemers.",
    )
    ouderen = record("welzijn-brederwijk:taalcafe-ouderen", "Taalcafé voor ouderen", **contact)
    jongeren = record("sociale-kaart:taalcafe-jongeren", "Taalcafé voor jongeren", **contact)
    senioren = record("zorgkaart:taalcafe-senioren", "Taalcafe voor senioren", **contact)

    result = deduplicate([ouderen, jongeren, senioren])

    assert together(result, ouderen.record_id, senioren.record_id)  # one audience, two words
    assert not together(result, ouderen.record_id, jongeren.record_id)
    explanation = explain_pair(ouderen, jongeren)
    assert explanation.decision == "non_match"
    assert "names for different audiences: ['ouderen'] vs ['jongeren']" in explanation.conflicts


def test_two_listings_of_one_service_page_merge_whatever_their_names():
    page = "https://www.welzijnbrederwijk.nl/aanbod/valpreventie"
    site = record(
        "welzijn-brederwijk:aanbod/valpreventie",
        "Sterk en stevig",
        organization="Stichting Welzijn Brederwijk",
        emails=["valpreventie@welzijnbrederwijk.nl"],
    ).model_copy(update={"url": page})
    kaart = record("sociale-kaart:vallen", "Cursus vallen voorkomen", phones=[WELZIJN_PHONE], website=page)
    gids = record("seniorengids:valpreventie", "Valpreventiecursus", website=page)

    result = deduplicate([site, kaart, gids])

    [service] = result.services
    assert len(service.members) == 3
    assert "one service's own page" in explain_pair(site, kaart).reasons[0]


def test_a_page_a_source_links_from_several_entries_is_no_service_page():
    # The sociale kaart links two entries to the organisation's overview: that page names no service.
    overview = "https://www.welzijnbrederwijk.nl/aanbod"
    kaart = [
        record("sociale-kaart:klussendienst", "Klussendienst", website=overview),
        record("sociale-kaart:boodschappendienst", "Boodschappendienst", website=overview),
    ]
    gids = record("seniorengids:maatje", "Een maatje voor ouderen", website=overview)

    result = deduplicate([*kaart, gids])

    assert len(result.services) == 3


def test_counterparts_sharing_only_the_organisations_contacts_need_alike_texts():
    # Each source lists one of the organisation's services, with its switchboard and info mailbox
    # (which its own site gives every service): unrelated names and texts are two services.
    site = [
        record(
            f"welzijn-brederwijk:{key}",
            name,
            phones=[WELZIJN_PHONE],
            emails=["info@welzijnbrederwijk.nl"],
            description=text,
        )
        for key, name, text in (
            ("repair-cafe", "Repair Café", "Samen kapotte spullen repareren met vrijwilligers."),
            ("regiotaxi", "Regiotaxi", "Vervoer van deur tot deur voor wie niet zelf kan reizen."),
        )
    ]
    kaart = record(
        "sociale-kaart:regiotaxi",
        "Wmo-vervoer",
        phones=[WELZIJN_PHONE],
        emails=["info@welzijnbrederwijk.nl"],
        description="Vervoer van deur tot deur voor wie niet zelf kan reizen.",
    )
    gids = record(
        "seniorengids:repair",
        "Reparatiecafé",
        phones=[WELZIJN_PHONE],
        emails=["info@welzijnbrederwijk.nl"],
        description="Breng uw kapotte lamp of fiets mee.",
    )
    lone = record(
        "zorgkaart:boodschappen",
        "Boodschappendienst",
        phones=[WELZIJN_PHONE],
        emails=["info@welzijnbrederwijk.nl"],
        description="Vrijwilligers doen boodschappen voor wie zelf niet naar de winkel kan.",
    )

    result = deduplicate([*site, kaart, gids, lone])

    assert together(result, "welzijn-brederwijk:regiotaxi", "sociale-kaart:regiotaxi")
    assert not together(result, "welzijn-brederwijk:repair-cafe", "zorgkaart:boodschappen")
    assert not together(result, "welzijn-brederwijk:regiotaxi", "zorgkaart:boodschappen")


def test_a_directory_that_puts_the_provider_before_the_name_is_read_without_it():
    site = record(
        "welzijn-brederwijk:taalcafe",
        "Taalcafé Het Kwartier",
        organization="Stichting Welzijn Brederwijk",
        emails=["taalcafe@welzijnbrederwijk.nl"],
    )
    kaart = record(
        "sociale-kaart:taalcafe",
        "Welzijn Brederwijk: Taalcafé Het Kwartier",
        organization="Welzijn Brederwijk",
        emails=["taalcafe@welzijnbrederwijk.nl"],
    )
    # Without its organisation the prefix could be a name's own words: it is kept.
    gids = record("seniorengids:taalcafe", "Welzijn Brederwijk: Taalcafé Het Kwartier")

    named = {f.feature: f.similarity for f in explain_pair(site, kaart).features}["name"]
    unnamed = {f.feature: f.similarity for f in explain_pair(site, gids).features}["name"]

    assert named == 1.0
    assert unnamed < 1.0
    assert len(deduplicate([site, kaart]).services) == 1


def test_one_name_within_an_organisation_both_name_alike_is_one_service():
    site = record(
        "welzijn-brederwijk:maatje",
        "Maatjesproject Het Kwartier",
        organization="Stichting Welzijn Brederwijk",
    )
    kaart = record("sociale-kaart:maatje", "Maatjesproject Het Kwartier", organization="Welzijn Brederwijk")
    other = record("zorgkaart:maatje", "Maatjesproject Het Kwartier", organization="Humanitas Brederwijk")

    result = deduplicate([site, kaart, other])

    assert together(result, site.record_id, kaart.record_id)
    assert not together(result, site.record_id, other.record_id)
    assert "within one organisation (both name it alike)" in result.matches[0].reasons[0]
