"""Properties that hold for any input: every record in exactly one service, and no service
holding two records that conflict on a hard fact."""

from __future__ import annotations

from datetime import datetime
from itertools import combinations

from hypothesis import given, settings
from hypothesis import strategies as st

from servicemap.dedup import deduplicate, load_dedup_settings
from servicemap.dedup.scoring import hard_conflicts, prepare
from servicemap.records import Address, NormalizedRecord, Phone

SETTINGS = load_dedup_settings()
NAMES = ["Schuldhulp", "Schuldhulpverlening", "Hulp bij schulden", "Formulierenhulp", "Bijzondere bijstand"]
ORGANISATIONS = [None, "Gemeente Brederwijk", "Stichting Welzijn Brederwijk", "Humanitas Brederwijk"]
PHONES = ["+31302764118", "+31302764200", "+31302769931"]
ADDRESSES = [
    None,
    Address(street="Kerkstraat", house_number="14", postcode="3732 CK", city="Brederwijk"),
    Address(street="Schoolstraat", house_number="9", postcode="3543 AD", city="Lindeveen"),
]

record_fields = st.fixed_dictionaries(
    {
        "name": st.sampled_from(NAMES),
        "organization": st.sampled_from(ORGANISATIONS),
        "phones": st.lists(st.sampled_from(PHONES), max_size=2, unique=True),
        "emails": st.lists(
            st.sampled_from(["info@welzijnbrederwijk.nl", "schulden@brederwijk.nl"]), max_size=1
        ),
        "address": st.sampled_from(ADDRESSES),
        "municipality": st.sampled_from(["Brederwijk", "Lindeveen"]),
        "upl": st.sampled_from([None, "Schuldhulpverlening", "Bijzondere bijstand"]),
    }
)


def _record(index: int, fields: dict) -> NormalizedRecord:
    upl = fields.pop("upl")
    return NormalizedRecord(
        record_id=f"sociale-kaart:{index}",
        source_id="sociale-kaart",
        url=f"https://sociale-kaart.example.nl/{index}",
        fetched_at=datetime(2026, 3, 2),
        extraction="hsds_api",
        phones=[Phone(number=n, kind="landline") for n in fields.pop("phones")],
        extra={"upl": upl} if upl else {},
        **fields,
    )


@settings(max_examples=60, deadline=None)
@given(st.lists(record_fields, min_size=1, max_size=14))
def test_every_record_lands_in_one_service_without_conflicts(all_fields):
    records = [_record(i, dict(f)) for i, f in enumerate(all_fields)]

    result = deduplicate(records, settings=SETTINGS)

    members = [m.record_id for s in result.services for m in s.members]
    assert sorted(members) == sorted(r.record_id for r in records)
    by_id = {r.record_id: prepare(r, SETTINGS) for r in records}
    for service in result.services:
        for a, b in combinations(service.members, 2):
            assert hard_conflicts(by_id[a.record_id], by_id[b.record_id]) == []
