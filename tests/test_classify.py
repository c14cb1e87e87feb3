"""The classifier over real-world-shaped Dutch (and English) service texts."""

import pytest

from servicemap.classify import (
    Classifier,
    Override,
    OverridesError,
    classify_services,
    classify_text,
    load_overrides,
    load_taxonomy,
)
from servicemap.records import DirectoryService


@pytest.fixture(scope="module")
def taxonomy():
    return load_taxonomy()


def terms(labels, taxonomy_id):
    return {label.term for label in labels if label.taxonomy == taxonomy_id}


def test_buurtcentrum_gets_every_domain_it_serves(taxonomy):
    labels = classify_text(
        "Buurtcentrum De Wilg",
        "Elke dinsdagochtend houdt onze consulent in het buurtcentrum een spreekuur over schulden en "
        "geldzorgen. Op vrijdag schuiven eenzame ouderen aan voor een gezamenlijke lunch.",
        [],
        None,
        taxonomy,
    )
    assert terms(labels, "life_domain") == {"finances", "social_participation"}
    assert "ouderen" in terms(labels, "audience")
    finances = next(lb for lb in labels if lb.term == "finances")
    assert 0 < finances.confidence <= 1
    assert any("schulden" in e for e in finances.evidence)


def test_negated_mention_is_no_evidence(taxonomy):
    labels = classify_text(
        "Koffieochtend De Wilg",
        "Een gezellige ochtend voor buurtgenoten. Dit is geen schuldhulp.",
        [],
        "niet bedoeld voor jongeren",
        taxonomy,
    )
    assert "finances" not in terms(labels, "life_domain")
    assert "social_participation" in terms(labels, "life_domain")
    assert "jeugd" not in terms(labels, "audience")


def test_the_same_word_without_negation_counts(taxonomy):
    labels = classify_text("Koffieochtend", "Aansluitend is er schuldhulp.", [], None, taxonomy)
    assert "finances" in terms(labels, "life_domain")


def test_english_description_is_classified(taxonomy):
    labels = classify_text(
        "Money advice",
        "We help residents with debts and unpaid bills. Walk-in, free of charge.",
        [],
        "lonely elderly people",
        taxonomy,
    )
    assert terms(labels, "life_domain") >= {"finances", "social_participation"}
    assert "ouderen" in terms(labels, "audience")
    assert terms(labels, "access") == {"vrij_toegankelijk"}
    assert terms(labels, "cost") == {"gratis"}


def test_source_category_alone_decides(taxonomy):
    labels = classify_text("Regeling 2026", None, ["Bijzondere bijstand"], None, taxonomy)
    [domain] = [lb for lb in labels if lb.taxonomy == "life_domain"]
    assert domain.term == "finances"
    assert 'category: "Bijzondere bijstand"' in domain.evidence


def test_compound_words_match_their_head_but_not_a_lookalike(taxonomy):
    debt = classify_text("Spreekuur", "Voor vragen over schuldhulpverlening.", [], None, taxonomy)
    assert "finances" in terms(debt, "life_domain")
    legal = classify_text("Juridisch spreekuur", "Hulp bij rechtsbijstand en advies.", [], None, taxonomy)
    assert "finances" not in terms(legal, "life_domain")
    assert "legal_and_safety" in terms(legal, "life_domain")


def test_hospice_for_people_in_the_last_phase_of_life(taxonomy):
    labels = classify_text(
        "Hospice De Vlier",
        "Het hospice biedt een huiselijke plek aan ongeneeslijk zieken in hun laatste levensfase en "
        "steun aan hun naasten.",
        ["Hospice"],
        None,
        taxonomy,
    )
    assert terms(labels, "life_domain") >= {"physical_health", "meaning_of_life"}
    assert "palliatief" in terms(labels, "audience")
    assert terms(labels, "sector") == {"zorg"}


def test_a_hospice_named_as_the_place_is_no_service_about_meaning(taxonomy):
    labels = classify_text(
        "Cursus Thuis zorgen voor je naaste",
        "De cursus is in de huiskamer van Hospice De Vlier. U leert hoe u uw naaste kunt verzorgen.",
        [],
        None,
        taxonomy,
    )
    assert "meaning_of_life" not in terms(labels, "life_domain")
    assert "family_and_caregiving" in terms(labels, "life_domain")


@pytest.mark.parametrize(
    ("sentence", "route"),
    [
        ("Aanmelden via de huisarts.", "via_verwijzing"),
        ("U kunt zonder afspraak binnenlopen.", "vrij_toegankelijk"),
        ("U heeft een Wmo-indicatie nodig.", "via_indicatie"),
        ("Meld u aan via het formulier op de website.", "via_aanmelding"),
        ("U kunt zelf contact opnemen, een verwijzing is niet nodig.", "vrij_toegankelijk"),
    ],
)
def test_access_route(taxonomy, sentence, route):
    labels = classify_text("Ondersteuning thuis", sentence, [], None, taxonomy)
    assert terms(labels, "access") == {route}


def test_a_text_seen_before_in_another_field_is_read_for_this_field(taxonomy):
    """The classifier keeps what it read per text: the organisation name decides only the
    sector, also when the same words were read before as a service's name."""
    classifier = Classifier(taxonomy)
    as_name = classifier.classify("Schuldhulpverlening", None, [], None)
    as_organization = classifier.classify("Spreekuur", None, [], None, "Schuldhulpverlening")
    assert "finances" in terms(as_name, "life_domain")
    assert terms(as_organization, "life_domain") == set()
    assert terms(as_organization, "sector") == {"sociaal_domein"}
    again = classifier.classify("Schuldhulpverlening", None, [], None)
    assert again == as_name == Classifier(taxonomy).classify("Schuldhulpverlening", None, [], None)


def test_without_indication_is_not_via_indication(taxonomy):
    labels = classify_text("Inloop", "U kunt hier terecht zonder indicatie.", [], None, taxonomy)
    assert "via_indicatie" not in terms(labels, "access")


def test_no_evidence_no_label(taxonomy):
    labels = classify_text("Spreekuur", "Elke dinsdag in het stadhuis.", [], None, taxonomy)
    assert terms(labels, "access") == set()
    assert terms(labels, "cost") == set()


def test_single_valued_facets_get_one_term(taxonomy):
    labels = classify_text(
        "Consultatiebureau",
        "De jeugdarts van de GGD en uw huisarts werken samen. Na een verwijzing kunt u zich aanmelden.",
        [],
        None,
        taxonomy,
    )
    assert len(terms(labels, "sector")) == 1
    assert len(terms(labels, "access")) == 1


def test_cost_only_where_the_text_says_so(taxonomy):
    free = classify_text("Hulp", "Er is geen eigen bijdrage.", [], None, taxonomy)
    assert terms(free, "cost") == {"gratis"}
    paid = classify_text("Hulp", "U betaalt een eigen bijdrage via het CAK.", [], None, taxonomy)
    assert terms(paid, "cost") == {"eigen_bijdrage"}


def _service(**fields):
    return DirectoryService(id="svc-1", name="Budgetcoaching", description="Hulp bij geldzorgen.", **fields)


def test_classify_services_keeps_the_service_and_adds_labels(taxonomy):
    [classified] = classify_services([_service(municipality="Brederwijk")], taxonomy)
    assert classified.municipality == "Brederwijk"
    assert "finances" in classified.terms("life_domain")


def test_overrides_win_and_say_why(taxonomy):
    overrides = [
        Override(service_id="svc-1", taxonomy="life_domain", term="finances", action="remove", reason="test"),
        Override(
            service_id="svc-1",
            taxonomy="life_domain",
            term="daily_living",
            action="add",
            reason="helpt thuis",
        ),
        Override(service_id="svc-1", taxonomy="sector", term="zorg", action="add", reason="is zorg"),
        Override(service_id="other", taxonomy="life_domain", term="housing", action="add", reason="x"),
    ]
    [classified] = classify_services([_service()], taxonomy, overrides)
    assert "finances" not in classified.terms("life_domain")
    assert "housing" not in classified.terms("life_domain")
    added = next(lb for lb in classified.labels if lb.term == "daily_living")
    assert added.confidence == 1.0
    assert added.evidence == ["override: helpt thuis"]
    assert classified.terms("sector") == ["zorg"]


def test_packaged_overrides_file_is_empty(taxonomy):
    assert load_overrides(taxonomy) == []


def test_override_with_unknown_term_is_refused(taxonomy, tmp_path):
    path = tmp_path / "overrides.yaml"
    path.write_text(
        "- {service_id: s1, taxonomy: life_domain, term: geldzaken, action: add, reason: x}\n"
        "- {service_id: s2, taxonomy: life_domain, term: housing, action: keep, reason: x}\n",
        encoding="utf-8",
    )
    with pytest.raises(OverridesError) as error:
        load_overrides(taxonomy, path)
    message = str(error.value)
    assert "[0] (service 's1'): term: 'geldzaken' is not a term of 'life_domain'" in message
    assert "[1]: action:" in message
