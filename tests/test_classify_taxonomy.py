"""The taxonomy file: what other stages read from it, and how a wrong file is refused."""

import copy

import pytest
import yaml

from servicemap.classify import TaxonomyError, load_taxonomy, parse_taxonomy
from servicemap.classify.taxonomy import POSITIVE_HEALTH, ZRM_DOMAINS, default_taxonomy_path

LIFE_DOMAINS = {
    "finances",
    "work_and_daytime",
    "housing",
    "family_and_caregiving",
    "mental_wellbeing",
    "physical_health",
    "substance_use",
    "daily_living",
    "social_participation",
    "meaning_of_life",
    "legal_and_safety",
}


@pytest.fixture()
def raw():
    return yaml.safe_load(default_taxonomy_path().read_text(encoding="utf-8"))


def test_default_taxonomy_has_the_eleven_domains_with_their_mappings():
    taxonomy = load_taxonomy()
    domains = {term.id: term for term in taxonomy.life_domains}
    assert set(domains) == LIFE_DOMAINS
    assert domains["finances"].label.nl == "Financiën"
    assert domains["daily_living"].zrm == ["Basale ADL", "Instrumentele ADL"]
    assert domains["meaning_of_life"].zrm == []
    assert domains["meaning_of_life"].positive_health == "Zingeving"
    assert all(t.positive_health in POSITIVE_HEALTH for t in domains.values())
    assert all(z in ZRM_DOMAINS for t in domains.values() for z in t.zrm)


def test_default_taxonomy_has_the_facets():
    taxonomy = load_taxonomy()
    assert {t.id for t in taxonomy.terms("sector")} == {
        "zorg",
        "sociaal_domein",
        "publieke_gezondheid",
        "vrijwillig_informeel",
    }
    assert {t.id for t in taxonomy.terms("access")} == {
        "vrij_toegankelijk",
        "via_aanmelding",
        "via_verwijzing",
        "via_indicatie",
    }
    assert {t.id for t in taxonomy.terms("cost")} == {"gratis", "eigen_bijdrage"}
    assert len(taxonomy.terms("audience")) == 8
    assert taxonomy.get("sector").single and not taxonomy.get("audience").single


def test_synonyms_for_search():
    taxonomy = load_taxonomy()
    assert {"schuldhulp", "schuldhulpverlening", "geldzorgen"} <= set(taxonomy.synonyms_of("Schuldhulp"))
    assert {"respijtzorg", "logeeropvang"} <= set(taxonomy.synonyms_of("respijt"))
    assert taxonomy.synonyms_of("fietsenmaker") == ["fietsenmaker"]


def _domain(data, term_id):
    spec = next(s for s in data["taxonomies"] if s["id"] == "life_domain")
    return next(t for t in spec["terms"] if t["id"] == term_id)


def test_each_kind_of_mistake_is_named(raw):
    data = copy.deepcopy(raw)
    _domain(data, "finances")["zrm"] = ["Geldzaken"]
    _domain(data, "housing")["positive_health"] = "Geluk"
    _domain(data, "substance_use")["lexicon"] = {}
    spec = next(s for s in data["taxonomies"] if s["id"] == "life_domain")
    spec["terms"].append(copy.deepcopy(_domain(data, "daily_living")))
    with pytest.raises(TaxonomyError) as error:
        parse_taxonomy(data, "regio.yaml")
    message = str(error.value)
    assert message.startswith("regio.yaml: 4 problem(s)")
    assert "term 'finances': zrm: 'Geldzaken' is not a ZRM domain" in message
    assert "term 'housing': positive_health: 'Geluk' is not a Positive Health dimension" in message
    assert "term 'substance_use': lexicon: is empty" in message
    assert "taxonomy 'life_domain': duplicate term id 'daily_living'" in message


def test_structural_mistakes_name_taxonomy_term_and_field(raw):
    data = copy.deepcopy(raw)
    del _domain(data, "finances")["label"]["nl"]
    _domain(data, "housing")["lexicon"]["dutch"] = ["woning"]
    with pytest.raises(TaxonomyError) as error:
        parse_taxonomy(data)
    message = str(error.value)
    assert "taxonomy 'life_domain': term 'finances': label.nl: Field required" in message
    assert "taxonomy 'life_domain': term 'housing': lexicon.dutch: unknown field" in message


def test_life_domain_without_mapping_is_refused(raw):
    data = copy.deepcopy(raw)
    del _domain(data, "finances")["positive_health"]
    with pytest.raises(TaxonomyError, match="term 'finances': positive_health: missing"):
        parse_taxonomy(data)


def test_unreadable_file_is_refused(tmp_path):
    path = tmp_path / "taxonomy.yaml"
    path.write_text("taxonomies: [\n", encoding="utf-8")
    with pytest.raises(TaxonomyError, match="cannot read the file"):
        load_taxonomy(path)
