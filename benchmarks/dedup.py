"""Deduplication at regional scale: a generated region deduplicated end to end.

Run on demand: `python benchmarks/dedup.py [--sizes 10000 100000] [--seed S]`. The generator
builds a fictional region of municipalities, each with its organisations and their services,
and lists every service on one to five sources (its organisation's site, the municipality's
site, the municipality's Samenwerkende Catalogi feed for municipal products, and two regional
directories), each listing with the noise real sources show: name spellings, abbreviations and
synonyms, an organisation's switchboard number instead of the service's own, missing phones and
emails, addresses with and without a unit addition, reworded descriptions. One organisation
offers several services at one address under one switchboard number, and different
organisations of one municipality offer services of one kind: the hard cases.

Each size runs in a child process (so that its peak RSS is its own): `deduplicate()` with
blocking, scoring, clustering and golden records, timed as a whole, with pairwise precision and
recall against the generator's truth. The 100,000 run also times our bulk pair scoring against
rapidfuzz `process.cdist` over the same candidate blocks. Writes `benchmarks/results/dedup.json`
and `dedup.md`.

Targets (issue 6): 100,000 records in under 60 s and 2 GiB, pairwise precision >= 0.98 and
recall >= 0.95, cost growth from 10k to 100k close to linear, our pair scoring at least half
the throughput of `cdist` on the same blocks.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rapidfuzz import fuzz, process

from servicemap.dedup import deduplicate, load_dedup_settings, pairwise_scores, service_clusters
from servicemap.dedup.blocking import blocking_keys, candidate_pairs
from servicemap.dedup.scoring import mark_shared_contacts, prepare, score_pairs
from servicemap.records import Address, NormalizedRecord, Phone

RESULTS = Path(__file__).with_name("results")
TARGET_SECONDS = 60.0
TARGET_MEMORY_MB = 2048
TARGET_PRECISION = 0.98
TARGET_RECALL = 0.95
TARGET_THROUGHPUT_RATIO = 0.5
RECORDS_PER_SERVICE = 2.5
FETCHED = datetime(2026, 3, 2, 8, 0)

# Fictional places: every municipality name is a first part and a second part.
PLACE_FIRST = [
    "Alder", "Brede", "Linde", "Ouder", "Weide", "Molen", "Beuke", "Eiken", "Vlier", "Hazel", "Wilge",
    "Esse", "Zand", "Klaver", "Riet", "Heide", "Berken", "Lijster", "Meeuwen", "Vossen",
]  # fmt: skip
PLACE_SECOND = ["meer", "wijk", "veen", "dorp", "hoven", "rode", "sloot", "horst"]
NEIGHBOURHOODS = [
    "Noord", "Zuid", "Oost", "West", "Centrum", "De Wissel", "Het Kwartier", "De Hoven", "Vlinderhof",
    "Kerkbuurt", "Molenwijk", "De Akkers", "Het Zand", "Waterkant", "De Bongerd", "Rozenhof",
]  # fmt: skip
STREETS = [
    "Kerkstraat", "Dorpsstraat", "Molenweg", "Lindeplein", "Stationsweg", "Schoolstraat", "Marktplein",
    "Julianalaan", "Beatrixstraat", "Wilhelminapark", "Brink", "Veldweg", "Nieuwstraat", "Havenkade",
]  # fmt: skip
ORGANISATION_KINDS = [
    ("Stichting Welzijn {p}", "welzijn{p}"),
    ("Buurtwerk {p}", "buurtwerk{p}"),
    ("Vrijwilligerscentrale {p}", "vrijwilligers{p}"),
    ("Bibliotheek {p}", "bibliotheek{p}"),
    ("Zorggroep {p}", "zorggroep{p}"),
    ("Stichting Thuishulp {p}", "thuishulp{p}"),
    ("Sociaal Wijkteam {p}", "wijkteam{p}"),
    ("Stichting Geldzaken {p}", "geldzaken{p}"),
    ("Jeugdpunt {p}", "jeugdpunt{p}"),
    ("Steunpunt Mantelzorg {p}", "mantelzorg{p}"),
    ("Sportbedrijf {p}", "sport{p}"),
    ("Netwerk Palliatieve Zorg {p}", "palliatief{p}"),
]

AUDIENCES = ["ouderen", "jongeren", "gezinnen", "mantelzorgers", "nieuwkomers", "mensen met een beperking"]


@dataclass(frozen=True)
class Kind:
    """A kind of service: its usual name, the other names sources give it, its sentences, and
    the uniform product name when it is a municipal product."""

    name: str
    variants: tuple[str, ...]
    sentences: tuple[str, ...]
    upl: str | None = None


KINDS = [
    Kind("Schuldhulpverlening", ("Schuldhulp", "Hulp bij schulden", "Schuldhulpverlener"), (
        "Heeft u schulden of kunt u uw rekeningen niet meer betalen?",
        "Een schuldhulpverlener zoekt samen met u naar een oplossing.",
        "We maken een overzicht van uw inkomsten, uitgaven en schulden.",
        "Samen met de schuldeisers zoeken we naar een regeling.",
        "Hulp bij betalingsproblemen en achterstanden, gratis voor inwoners.",
    ), "schuldhulpverlening"),
    Kind("Formulierenhulp", ("Hulp bij formulieren", "Formulierenbrigade", "Formulierenspreekuur"), (
        "Vrijwilligers helpen u met het invullen van lastige formulieren.",
        "Denk aan toeslagen, belastingaangifte of een aanvraag bij de gemeente.",
        "Neem uw post en uw DigiD mee naar het spreekuur.",
        "Ondersteuning bij brieven en formulieren van instanties.",
    )),
    Kind("Hulp bij het huishouden", ("Huishoudelijke hulp", "Huishoudelijke ondersteuning", "HbH"), (
        "Kunt u uw huis niet meer zelf schoonhouden?",
        "Een hulp komt wekelijks schoonmaken, wassen of boodschappen doen.",
        "U vraagt deze voorziening aan via de Wmo.",
        "Ondersteuning in het huishouden voor wie dat zelf niet meer kan.",
    ), "hulp bij het huishouden"),
    Kind("Gehandicaptenparkeerkaart", ("GPK", "Parkeerkaart aanvragen", "Parkeerkaart gehandicapten"), (
        "Met een gehandicaptenparkeerkaart mag u parkeren op een invalidenparkeerplaats.",
        "U vraagt de kaart aan bij de gemeente; een arts beoordeelt uw situatie.",
        "Voor bestuurders en passagiers met een beperking.",
    ), "gehandicaptenparkeerkaart"),
    Kind("Regiotaxi", ("Wmo-vervoer", "Wmo vervoer", "Regiotaxi pas"), (
        "Vervoer van deur tot deur voor wie niet zelf kan reizen.",
        "U betaalt een eigen bijdrage per kilometer.",
        "Reserveer uw rit minimaal een uur van tevoren.",
    ), "regiotaxi"),
    Kind("Mantelzorgwaardering", ("Mantelzorgcompliment", "Mantelzorgpluim"), (
        "Eens per jaar zegt de gemeente dank je wel tegen mantelzorgers.",
        "Mantelzorgers ontvangen een cadeaubon of een bijdrage.",
        "Aanmelden kan tot het einde van het jaar.",
    ), "mantelzorgwaardering"),
    Kind("Taalcafé", ("Taalcafe", "Taal café", "Nederlands oefenen"), (
        "Oefen Nederlands in een ontspannen sfeer met andere deelnemers.",
        "Vrijwillige taalcoaches praten met u over alledaagse onderwerpen.",
        "Iedere week een gesprekstafel, gratis en zonder aanmelding.",
    )),
    Kind("Buurtmaaltijd", ("Samen eten", "Eettafel", "Buurtmaaltijden"), (
        "Iedere week koken vrijwilligers een maaltijd voor buurtbewoners.",
        "Aan tafel zitten buren die het gezellig vinden om samen te eten.",
        "Een driegangenmaaltijd tegen een kleine eigen bijdrage.",
    )),
    Kind("Maatjesproject", ("Maatje", "Een maatje", "Maatjes"), (
        "Een vrijwilliger trekt een tijd met u op.",
        "Samen wandelen, een kop koffie drinken of naar de markt gaan.",
        "Voor wie weinig contacten heeft en er graag iemand bij wil.",
    )),
    Kind("Klussendienst", ("Klusjesdienst", "Klussenhulp"), (
        "Vrijwilligers doen kleine klussen in en om het huis.",
        "Een lamp ophangen, een kraan vervangen of de tuin bijhouden.",
        "U betaalt alleen de materialen.",
    )),
    Kind("Valpreventiecursus", ("Cursus valpreventie", "Vallen voorkomen", "Sterk en stevig"), (
        "Oefen in een kleine groep uw evenwicht en kracht.",
        "Een fysiotherapeut begeleidt de bijeenkomsten.",
        "Voor zelfstandig wonende ouderen die bang zijn om te vallen.",
    )),
    Kind("Geheugencafé", ("Alzheimer café", "Geheugencafe", "Ontmoeting bij dementie"), (
        "Een ontmoetingsplek voor mensen met geheugenproblemen en hun naasten.",
        "Elke maand een gesprek over leven met dementie.",
        "Vrij toegankelijk, koffie en thee staan klaar.",
    )),
    Kind("Rouwgroep", ("Rouwverwerking", "Lotgenotengroep rouw", "Rouwcafé"), (
        "Praten met anderen die ook een dierbare hebben verloren.",
        "Een begeleider leidt zes bijeenkomsten over verlies en verdriet.",
        "Aanmelden vooraf, deelname is gratis.",
    )),
    Kind("Mantelzorgondersteuning", ("Mantelzorgconsulent", "Steun mantelzorgers", "Mantelzorgsteunpunt"), (
        "Zorgt u voor een naaste? Een consulent denkt met u mee.",
        "Informatie over respijtzorg, regelingen en lotgenotencontact.",
        "Voorkom dat de zorg u te zwaar wordt.",
    )),
    Kind("Jongerenwerk", ("Jongerencentrum", "Jongerenwerker", "Jongerenactiviteiten"), (
        "Jongerenwerkers zijn er voor jongeren van 12 tot 23 jaar.",
        "Activiteiten, een luisterend oor en hulp bij school of werk.",
        "Loop binnen in het jongerencentrum.",
    )),
    Kind("Opvoedondersteuning", ("Opvoedadvies", "Hulp bij opvoeden", "Opvoedspreekuur"), (
        "Vragen over opvoeden en opgroeien bespreekt u met een pedagoog.",
        "Korte hulp voor ouders, zonder verwijzing.",
        "Over slapen, eten, driftbuien of de puberteit.",
    )),
    Kind("Inloopspreekuur", ("Spreekuur", "Vrije inloop", "Inloop"), (
        "Zonder afspraak binnenlopen met uw vraag over zorg, geld of wonen.",
        "Een medewerker zoekt met u uit wie u verder kan helpen.",
        "Elke week op vaste dagen.",
    )),
    Kind("Thuisadministratie", ("Hulp bij de thuisadministratie", "Administratiehulp", "Papierwinkel"), (
        "Een vrijwilliger helpt u uw papieren te ordenen.",
        "Samen houdt u overzicht over rekeningen en post.",
        "Voor wie het overzicht dreigt te verliezen.",
    )),
    Kind("Boodschappendienst", ("Boodschappenhulp", "Boodschappen aan huis"), (
        "Vrijwilligers doen boodschappen voor wie zelf niet naar de winkel kan.",
        "U geeft uw lijstje door en krijgt de boodschappen thuis.",
    )),
    Kind("Vervoersdienst", ("Vrijwillige vervoersdienst", "Rijdende buren", "Autodienst"), (
        "Vrijwillige chauffeurs rijden u naar de huisarts of het ziekenhuis.",
        "U betaalt een kleine vergoeding per rit.",
        "Bel uiterlijk twee dagen van tevoren.",
    )),
    Kind("Ouderenadvies", ("Ouderenadviseur", "Cliëntondersteuning ouderen", "Seniorenadvies"), (
        "De ouderenadviseur komt bij u thuis voor een gesprek.",
        "Over wonen, zorg, geld en meedoen als u ouder wordt.",
    )),
    Kind("Repair Café", ("Repaircafé", "Reparatiecafé"), (
        "Samen kapotte spullen repareren met vrijwillige reparateurs.",
        "Neem uw kapotte lamp, fiets of kleding mee.",
    )),
    Kind("Wijkhuiskamer", ("Huiskamer", "Buurthuiskamer", "Ontmoetingsplek"), (
        "Een plek in de buurt om koffie te drinken en buren te ontmoeten.",
        "Iedere ochtend open, binnenlopen mag altijd.",
    )),
    Kind("Beweeggroep", ("Bewegen voor ouderen", "Gymgroep", "Samen bewegen"), (
        "Wekelijks bewegen onder begeleiding van een docent.",
        "Aangepaste oefeningen voor ieder niveau.",
    )),
    Kind("Inburgering", ("Inburgeringsroute", "Begeleiding inburgering", "Inburgeringsloket"), (
        "Begeleiding van nieuwkomers bij de inburgering.",
        "Taallessen, werk en meedoen in de gemeente.",
    ), "inburgering"),
    Kind("Bijzondere bijstand", ("Bijzondere bijstand aanvragen", "Vergoeding bijzondere kosten"), (
        "Een vergoeding voor noodzakelijke kosten die u zelf niet kunt betalen.",
        "Vraag bijzondere bijstand aan voordat u de kosten maakt.",
    ), "bijzondere bijstand"),
    Kind("Kindregeling", ("Kindpakket", "Meedoenregeling kinderen", "Kindvoorzieningen"), (
        "Kinderen uit gezinnen met een laag inkomen doen mee aan sport en cultuur.",
        "Een bijdrage voor schoolspullen, zwemles of een fiets.",
    ), "minimaregeling kinderen"),
    Kind("Energieadvies", ("Energiecoach", "Energie besparen", "Energiebespaarhulp"), (
        "Een energiecoach geeft tips om energie en geld te besparen.",
        "Gratis huisbezoek met kleine besparende maatregelen.",
    )),
    Kind("Buurtsportcoach", ("Sportcoach", "Sport en bewegen in de wijk"), (
        "De buurtsportcoach helpt inwoners aan een passende sport.",
        "Sportactiviteiten in de wijk voor jong en oud.",
    )),
    Kind("Gesprek met een geestelijk verzorger", ("Geestelijke verzorging", "Levensvragen gesprek"), (
        "Een geestelijk verzorger praat met u over levensvragen.",
        "Bij ziekte, ouder worden of het verlies van een dierbare.",
    ), None),
]  # fmt: skip

SYNONYM_OF = {
    "schulden": "geldzorgen", "gratis": "kosteloos", "vrijwilligers": "vrijwillige medewerkers",
    "week": "week opnieuw", "helpen": "ondersteunen", "ouderen": "senioren", "buurt": "wijk",
}  # fmt: skip


@dataclass
class Organisation:
    name: str
    short: str
    domain: str
    municipality: str
    switchboard: str
    email: str
    locations: list[Address]


@dataclass
class Service:
    id: str
    kind: Kind
    name: str
    organisation: Organisation
    municipality: str
    location: Address
    direct_phone: str | None
    own_email: str | None
    slug: str
    qualifier: str | None
    sources: list[str] = field(default_factory=list)


class Region:
    """A generated region: organisations and services, and the records sources give of them."""

    def __init__(self, services: int, seed: int):
        self.rng = random.Random(seed)
        self.phone_numbers = self._numbers()
        self.municipalities = self._municipalities(max(2, services // 1000))
        self.services: list[Service] = []
        for municipality in self.municipalities:
            self._fill(municipality, services // len(self.municipalities))

    def _numbers(self):
        # Fictional numbers in the 030 range, each used once: a phone says whose it is.
        numbers = list(range(2_000_000, 9_999_999, 7))
        self.rng.shuffle(numbers)
        return iter(numbers)

    def _phone(self) -> str:
        return f"+3130{next(self.phone_numbers):07d}"

    def _municipalities(self, count: int) -> list[str]:
        names = [f"{a}{b}" for a in PLACE_FIRST for b in PLACE_SECOND]
        self.rng.shuffle(names)
        return names[:count]

    def _address(self, municipality: str, digits: int) -> Address:
        rng = self.rng
        return Address(
            street=rng.choice(STREETS),
            house_number=str(rng.randint(1, 180)),
            addition=rng.choice([None, None, None, "A", "B", "bis"]),
            postcode=f"{digits} {rng.choice('ABCDEGHJKLMNPRSTVWXZ')}{rng.choice('ABCDEGHJKLMNPRSTVWXZ')}",
            city=municipality.capitalize(),
            municipality=municipality.capitalize(),
        )

    def _fill(self, municipality: str, count: int) -> None:
        rng = self.rng
        digits = rng.randint(1000, 9999)
        made = 0
        number = 0
        while made < count:
            number += 1
            template, domain = rng.choice(ORGANISATION_KINDS)
            place = municipality.capitalize() if rng.random() < 0.6 else rng.choice(NEIGHBOURHOODS)
            name = template.format(p=place) + (f" {number}" if rng.random() < 0.5 else "")
            slug_name = domain.format(p=place.lower().replace(" ", "")) + str(number)
            organisation = Organisation(
                name=name,
                short=name.split(" ", 1)[-1] if name.startswith("Stichting ") else name,
                domain=f"{slug_name}.example.nl",
                municipality=municipality,
                switchboard=self._phone(),
                email=f"info@{slug_name}.example.nl",
                locations=[self._address(municipality, digits) for _ in range(rng.randint(1, 3))],
            )
            # An organisation offers a few services, often two of one kind for two audiences.
            for kind in rng.sample(KINDS, k=rng.randint(1, 5)):
                qualifiers = [None] if rng.random() < 0.8 else rng.sample(AUDIENCES, k=2)
                for qualifier in qualifiers:
                    self._service(kind, organisation, qualifier)
                    made += 1

    def _service(self, kind: Kind, organisation: Organisation, qualifier: str | None) -> None:
        rng = self.rng
        name = kind.name + (f" voor {qualifier}" if qualifier else "")
        if rng.random() < 0.3:
            name = f"{name} {rng.choice(NEIGHBOURHOODS)}"
        service_id = f"svc-{len(self.services)}"
        self.services.append(
            Service(
                id=service_id,
                kind=kind,
                name=name,
                organisation=organisation,
                municipality=organisation.municipality,
                location=rng.choice(organisation.locations),
                direct_phone=self._phone() if rng.random() < 0.6 else None,
                own_email=f"{kind.name.split()[0].lower()}{len(self.services)}@{organisation.domain}"
                if rng.random() < 0.4
                else None,
                slug=f"{kind.name.lower().replace(' ', '-')}-{len(self.services)}",
                qualifier=qualifier,
            )
        )

    def records(self, count: int) -> tuple[list[NormalizedRecord], dict[str, str]]:
        """`count` records of the region's services and the truth: record id -> service id."""
        rng = self.rng
        records: list[NormalizedRecord] = []
        truth: dict[str, str] = {}
        catalogued: set[tuple[str, str]] = set()
        for service in self.services:
            # A municipality's catalogue lists its product once: the first provider of its kind.
            product = (service.municipality, service.kind.name)
            in_catalogue = service.kind.upl is not None and product not in catalogued
            catalogued.add(product)
            region = f"regio-{self.municipalities.index(service.municipality) // 8}"
            places = [
                f"org-{service.organisation.domain.split('.')[0]}",
                f"gemeente-{service.municipality}",
                f"sociale-kaart-{region}",
                f"zorgkaart-{region}",
            ] + ([f"gemeente-{service.municipality}-sc"] if in_catalogue else [])
            listed = rng.choices([1, 2, 3, 4, 5], weights=[30, 25, 20, 13, 12])[0]
            for source_id in rng.sample(places, k=min(listed, len(places))):
                record = self._record(service, source_id)
                records.append(record)
                truth[record.record_id] = service.id
                if len(records) == count:
                    return records, truth
        return records, truth

    def _name(self, service: Service) -> str:
        rng = self.rng
        roll = rng.random()
        name = service.name
        if roll < 0.35:
            variant = rng.choice(service.kind.variants)
            name = name.replace(service.kind.name, variant, 1)
        elif roll < 0.45:
            name = f"{name} {service.municipality.capitalize()}"
        elif roll < 0.52:
            name = f"{service.organisation.short}: {name}"
        if rng.random() < 0.08 and len(name) > 8:
            spot = rng.randrange(1, len(name) - 1)
            name = name[:spot] + name[spot + 1 :]  # a typing error
        return name.lower() if rng.random() < 0.05 else name

    def _description(self, service: Service) -> str | None:
        rng = self.rng
        if rng.random() < 0.1:
            return None
        sentences = rng.sample(service.kind.sentences, k=rng.randint(1, len(service.kind.sentences)))
        text = " ".join(sentences)
        for word, other in SYNONYM_OF.items():
            if word in text and rng.random() < 0.3:
                text = text.replace(word, other)
        if service.qualifier:
            text += f" Speciaal voor {service.qualifier}."
        return text

    def _record(self, service: Service, source_id: str) -> NormalizedRecord:
        rng = self.rng
        organisation = service.organisation
        phones = []
        roll = rng.random()
        if roll < 0.55 and service.direct_phone:
            phones.append(service.direct_phone)
        elif roll < 0.85:
            phones.append(organisation.switchboard)
        emails = []
        roll = rng.random()
        if roll < 0.5 and service.own_email:
            emails.append(service.own_email)
        elif roll < 0.75:
            emails.append(organisation.email)
        address = None
        if rng.random() < 0.85:
            location = service.location
            addition = location.addition if rng.random() < 0.6 else None
            address = location.model_copy(update={"addition": addition})
        page = f"https://{organisation.domain}/aanbod/{service.slug}"
        own_site = source_id.startswith("org-")
        url = page if own_site else f"https://{source_id}.example.nl/{service.slug}-{rng.randrange(10**6)}"
        extra = {"upl": service.kind.upl} if source_id.endswith("-sc") and service.kind.upl else {}
        organization_name = rng.choice([organisation.name, organisation.short, None])
        return NormalizedRecord(
            record_id=f"{source_id}:{service.slug}",
            source_id=source_id,
            url=url,
            fetched_at=FETCHED + timedelta(minutes=rng.randrange(60 * 24 * 7)),
            extraction="generated",
            name=self._name(service),
            organization=organization_name,
            description=self._description(service),
            address=address,
            phones=[Phone(number=n, kind="landline") for n in phones],
            emails=emails,
            website=None if own_site or rng.random() < 0.4 else page,
            municipality=service.municipality.capitalize()
            if source_id.startswith("gemeente") or rng.random() < 0.5
            else None,
            extra=extra,
        )


def generate(count: int, seed: int) -> tuple[list[NormalizedRecord], dict[str, str]]:
    """`count` records of about `count / 2.5` services, and which service each record is."""
    return Region(round(count / RECORDS_PER_SERVICE * 1.05), seed).records(count)


def run_one(count: int, seed: int, compare_cdist: bool) -> dict:
    """Generate and deduplicate `count` records in this process; its figures."""
    records, truth = generate(count, seed)
    services_in_truth = len(set(truth.values()))
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    result = deduplicate(records)
    wall = time.perf_counter() - started
    by_service: dict[str, set[str]] = defaultdict(set)
    for record_id, service_id in truth.items():
        by_service[service_id].add(record_id)
    scores = pairwise_scores(service_clusters(result.services), list(by_service.values()))
    figures = {
        "records": len(records),
        "services_in_truth": services_in_truth,
        "services_found": len(result.services),
        "wall_seconds": round(wall, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "rss_before_dedup_mb": round(rss_before / 1024),
        "pairs_compared": result.pairs_compared,
        "pairs_by_rule": result.blocking,
        "windowed_blocks": result.windowed_blocks,
        "pairwise_precision": round(scores.pairwise_precision, 4),
        "pairwise_recall": round(scores.pairwise_recall, 4),
        "bcubed_f1": round(scores.bcubed_f1, 4),
    }
    if compare_cdist:
        figures["throughput"] = compare_throughput(records)
    return figures


def compare_throughput(records: list[NormalizedRecord]) -> dict:
    """Pairs per second of our bulk scoring (every feature, decision and explanation) against
    rapidfuzz `process.cdist` with one scorer (token_set_ratio on the prepared names) over
    every candidate block that is compared whole."""
    settings = load_dedup_settings()
    features = mark_shared_contacts([prepare(record, settings) for record in records])
    blocks = []
    for rule in settings.blocking.rules:
        keyed: dict[str, list[int]] = defaultdict(list)
        for index, item in enumerate(features):
            for key in blocking_keys(item, rule, settings):
                keyed[key].append(index)
        blocks += [m for m in keyed.values() if 2 <= len(m) <= settings.blocking.max_block_size]
    names = [item.name_text for item in features]
    started = time.perf_counter()
    compared = 0
    for members in blocks:
        texts = [names[i] for i in members]
        process.cdist(texts, texts, scorer=fuzz.token_set_ratio, workers=-1)
        compared += len(members) * len(members)
    cdist_seconds = time.perf_counter() - started
    pairs = candidate_pairs(features, settings).pairs
    started = time.perf_counter()
    score_pairs(features, pairs, settings)
    ours_seconds = time.perf_counter() - started
    cdist_rate = compared / cdist_seconds
    ours_rate = len(pairs) / ours_seconds
    return {
        "blocks": len(blocks),
        "cdist_pairs": compared,
        "cdist_seconds": round(cdist_seconds, 2),
        "cdist_pairs_per_second": round(cdist_rate),
        "ours_pairs": len(pairs),
        "ours_seconds": round(ours_seconds, 2),
        "ours_pairs_per_second": round(ours_rate),
        "ratio": round(ours_rate / cdist_rate, 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--cdist", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_one(args.child, args.seed, args.cdist)))
        return 0

    runs = []
    for size in args.sizes:
        command = [sys.executable, __file__, "--child", str(size), "--seed", str(args.seed)]
        if size == max(args.sizes):
            command.append("--cdist")
        finished = subprocess.run(command, capture_output=True, text=True, check=True)
        runs.append(json.loads(finished.stdout.strip().splitlines()[-1]))
    largest = runs[-1]
    figures = {
        "command": " ".join(["python", "benchmarks/dedup.py", *sys.argv[1:]]),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(),
            # Other work on the machine slows every figure: the load when the runs ended.
            "load_average": [round(load, 2) for load in os.getloadavg()],
        },
        "seed": args.seed,
        "runs": runs,
        "growth": _growth(runs),
        "targets": {
            "wall_seconds": TARGET_SECONDS,
            "peak_rss_mb": TARGET_MEMORY_MB,
            "pairwise_precision": TARGET_PRECISION,
            "pairwise_recall": TARGET_RECALL,
            "throughput_ratio": TARGET_THROUGHPUT_RATIO,
        },
    }
    met = (
        largest["wall_seconds"] < TARGET_SECONDS
        and largest["peak_rss_mb"] < TARGET_MEMORY_MB
        and largest["pairwise_precision"] >= TARGET_PRECISION
        and largest["pairwise_recall"] >= TARGET_RECALL
        and largest["throughput"]["ratio"] >= TARGET_THROUGHPUT_RATIO
    )
    figures["targets_met"] = met
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "dedup.json").write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    (RESULTS / "dedup.md").write_text(_markdown(figures), encoding="utf-8")
    print(_markdown(figures))
    return 0 if met else 1


def _growth(runs: list[dict]) -> dict:
    """Cost growth between the smallest and largest run, against growth in records."""
    first, last = runs[0], runs[-1]
    records = last["records"] / first["records"]
    return {
        "records": round(records, 1),
        "wall_seconds": round(last["wall_seconds"] / first["wall_seconds"], 1),
        "pairs_compared": round(last["pairs_compared"] / first["pairs_compared"], 1),
    }


def _rate_row(label: str, throughput: dict, which: str) -> str:
    pairs, seconds = throughput[f"{which}_pairs"], throughput[f"{which}_seconds"]
    return f"| {label} | {pairs:,} | {seconds} | {throughput[f'{which}_pairs_per_second']:,} |"


def _markdown(f: dict) -> str:
    machine = f["machine"]
    rows = "\n".join(
        f"| {r['records']:,} | {r['services_in_truth']:,} | {r['services_found']:,} | {r['wall_seconds']} | "
        f"{r['peak_rss_mb']:,} | {r['pairs_compared']:,} | {r['pairwise_precision']:.3f} | "
        f"{r['pairwise_recall']:.3f} | {r['bcubed_f1']:.3f} |"
        for r in f["runs"]
    )
    throughput = f["runs"][-1]["throughput"]
    growth = f["growth"]
    return f"""# Deduplication benchmark

`{f["command"]}` on {f["date"]}: {machine["cpus"]} CPUs, {machine["processor"]}, Python {machine["python"]},
{machine["platform"]}, load average {" ".join(map(str, machine["load_average"]))} at the end.
A generated region (seed {f["seed"]}), `deduplicate()` end to end
(blocking, scoring, clustering, golden records) in a child process per size.

| records | services (truth) | services found | wall s | peak RSS MB | pairs compared | pairwise P \
| pairwise R | B-cubed F1 |
|---:|---:|---:|---:|---:|---:|---:|---:|---:|
{rows}

Growth from the smallest to the largest run: records x{growth["records"]}, wall time
x{growth["wall_seconds"]}, pairs compared x{growth["pairs_compared"]}.

Pair scoring throughput on the largest run's candidate blocks ({throughput["blocks"]:,} blocks
compared whole):

| scorer | pairs | seconds | pairs/s |
|---|---:|---:|---:|
{_rate_row("rapidfuzz `process.cdist`, token_set_ratio on names, per block", throughput, "cdist")}
{_rate_row("ours: `score_pairs`, every feature, decision and explanation", throughput, "ours")}

Ratio ours / cdist: {throughput["ratio"]} (target >= {f["targets"]["throughput_ratio"]}).
Targets (issue 6): under {f["targets"]["wall_seconds"]:.0f} s and {f["targets"]["peak_rss_mb"]:,} MB at the
largest size, pairwise precision >= {f["targets"]["pairwise_precision"]} and recall >=
{f["targets"]["pairwise_recall"]}: {"met" if f["targets_met"] else "NOT met"}.
"""


if __name__ == "__main__":
    sys.exit(main())
