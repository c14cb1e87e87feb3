"""`servicemap sources check`: an operator's mistake in `sources.yaml` is named (source and
field) with exit code 2, and no crawl starts on a file with a mistake."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from servicemap.cli import app
from servicemap.crawl import crawl_source
from servicemap.sources import SourcesConfigError

sys.path.insert(0, str(Path(__file__).parent))
from sitesserver import SiteServer  # noqa: E402

GOOD_HTML = {
    "id": "brederwijk-producten",
    "organization": "Gemeente Brederwijk",
    "municipality": "Brederwijk",
    "kind": "html",
    "start_urls": ["https://www.brederwijk.example/producten/"],
    "service_pages": "/producten/",
    "selectors": {
        "service_name": "h1.product-titel",
        "phones": "xpath://a[starts-with(@href, 'tel:')]/text()",
    },
}
GOOD_HSDS = {
    "id": "wijkwijzer",
    "organization": "Stichting Wijkwijzer",
    "region": "Lindewaard",
    "kind": "hsds_api",
    "start_urls": ["https://api.wijkwijzer.example/services"],
}


def write(tmp_path: Path, *entries: dict) -> Path:
    path = tmp_path / "sources.yaml"
    path.write_text(yaml.safe_dump({"sources": list(entries)}, allow_unicode=True), encoding="utf-8")
    return path


def check(path: Path):
    return CliRunner().invoke(app, ["sources", "check", str(path)])


def one_line(text: str) -> str:
    """The output with the terminal's line wrapping undone."""
    return " ".join(text.split())


def test_good_file_exits_0(tmp_path):
    result = check(write(tmp_path, GOOD_HTML, GOOD_HSDS))
    assert result.exit_code == 0, result.output
    assert "2 source(s), all valid" in one_line(result.output)


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        pytest.param(
            {**GOOD_HSDS, "kind": "rss"},
            "source 'wijkwijzer': kind: 'rss' is not one of",
            id="unknown kind",
        ),
        pytest.param(
            {**GOOD_HTML, "selectors": {"service_name": "h1.product-titel[", "city": ".plaats"}},
            "source 'brederwijk-producten': selectors: service_name: 'h1.product-titel['",
            id="invalid CSS selector",
        ),
        pytest.param(
            {**GOOD_HTML, "selectors": {"service_name": "h1", "phones": "xpath://a[@href="}},
            "source 'brederwijk-producten': selectors: phones: 'xpath://a[@href=' is not a valid selector",
            id="invalid XPath",
        ),
        pytest.param(
            {**GOOD_HSDS, "start_urls": ["https://api.wijkwijzer.example/services", "htp://wijkwijzer"]},
            "source 'wijkwijzer': start_urls: [1] 'htp://wijkwijzer' is not an http(s) URL",
            id="bad URL",
        ),
        pytest.param(
            {**GOOD_HTML, "selectors": {"service_name": "h1", "openingstijden": ".uren li"}},
            "source 'brederwijk-producten': selectors: 'openingstijden' is not a raw-record field",
            id="unknown selector field",
        ),
        pytest.param(
            {**GOOD_HSDS, "max_paginas": 20},
            "source 'wijkwijzer': max_paginas: unknown field",
            id="unknown source field",
        ),
        pytest.param(
            {key: value for key, value in GOOD_HTML.items() if key != "selectors"},
            "source 'brederwijk-producten': an html source needs selectors, at least 'service_name'",
            id="html source without selectors",
        ),
    ],
)
def test_each_kind_of_mistake_names_the_source_and_the_field_and_exits_2(tmp_path, entry, expected):
    result = check(write(tmp_path, entry))
    assert result.exit_code == 2
    assert expected in one_line(result.output)
    assert "Traceback" not in result.output


def test_duplicate_id_is_named_and_exits_2(tmp_path):
    result = check(
        write(tmp_path, GOOD_HSDS, GOOD_HTML, {**GOOD_HTML, "organization": "Buurtteam Brederwijk"})
    )
    assert result.exit_code == 2
    assert "sources: duplicate source id 'brederwijk-producten' (entries 2 and 3)" in one_line(result.output)


def test_every_mistake_in_the_file_is_listed_at_once(tmp_path):
    result = check(write(tmp_path, {**GOOD_HSDS, "kind": "rss"}, {**GOOD_HTML, "start_urls": ["ftp://x"]}))
    output = one_line(result.output)
    assert result.exit_code == 2
    assert "2 problem(s)" in output
    assert "source 'wijkwijzer': kind:" in output
    assert "source 'brederwijk-producten': start_urls: [0] 'ftp://x'" in output


def test_missing_file_exits_2_and_names_it(tmp_path):
    result = check(tmp_path / "bronnen.yaml")
    assert result.exit_code == 2
    assert "bronnen.yaml" in one_line(result.output) and "cannot read the file" in one_line(result.output)


def test_crawl_of_a_file_with_a_mistake_is_refused_before_any_request(tmp_path):
    with SiteServer("brederwijk") as site:
        good = {**GOOD_HTML, "start_urls": [site.url("/")]}
        broken = {**GOOD_HSDS, "start_urls": [site.url("/api/services")], "kind": "rss"}
        sources = write(tmp_path, good, broken)
        with pytest.raises(SourcesConfigError, match="source 'wijkwijzer': kind: 'rss' is not one of"):
            crawl_source(sources, "brederwijk-producten", tmp_path / "work")
    assert site.requests == []
    assert not (tmp_path / "work").exists()
