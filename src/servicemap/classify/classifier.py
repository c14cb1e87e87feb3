"""Life domains and facets for each service, from the words and source categories that
decide them, with a confidence and the evidence; operator overrides have the last word."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from servicemap.classify.taxonomy import Taxonomy, Term
from servicemap.classify.text import Token, clauses, stem, tokens, words
from servicemap.records import ClassifiedService, DirectoryService, Label

# A single Dutch lexicon word of at least this many letters also matches inside a compound
# ('schuld' in 'schuldhulpverlening', stemmed 'verpleegkundige' in 'wijkverpleegkundige');
# shorter words ('zorg', 'werk', 'huur') are everywhere in compounds and would cost precision.
COMPOUND_MIN_LETTERS = 5
# ...and only when the rest of the compound is a plausible word, not an inflection.
COMPOUND_MIN_REST = 3
WEAK_FACTOR = 0.5
NEGATION_WINDOW = 3
_NEGATIONS = frozenset({"geen", "niet", "zonder", "nooit", "no", "not", "without", "never"})
# 'niet alleen voor ouderen' includes the elderly.
_NOT_NEGATING_NEXT = frozenset({"alleen", "only", "just"})
# 'een indicatie is niet nodig': the negation follows the word it denies.
_NEGATING_AFTER = (("niet", "nodig"), ("not", "needed"), ("not", "required"), ("not", "necessary"))


@dataclass(frozen=True)
class _Pattern:
    text: str
    words: tuple[str, ...]
    stems: tuple[str, ...]
    factor: float
    compound: bool
    exact: bool

    def continues_at(self, tokens: list[Token], start: int) -> bool:
        """Whether the words after the first one follow in `tokens` from `start`."""
        size = len(self.words)
        if start + size > len(tokens):
            return False
        if self.exact:
            return all(tokens[start + k].word == self.words[k] for k in range(1, size))
        return all(tokens[start + k].stem == self.stems[k] for k in range(1, size))


_Entry = tuple[str, str, _Pattern]  # (taxonomy id, term id, pattern)
# One match kept in a clause: (taxonomy id, term id, lexicon entry, factor, the words matched).
_Match = tuple[str, str, str, float, str]
# A directory repeats its sentences, names and categories: what one text or clause yields is
# worked out once; past this many distinct texts the cache starts afresh.
_CACHE_LIMIT = 200_000


class _LexiconIndex:
    """The lexicons of every taxonomy indexed by their first word, so that a clause is read
    once for all of them instead of once per taxonomy or lexicon entry."""

    def __init__(self, entries: list[_Entry]):
        self.by_stem: dict[str, list[_Entry]] = defaultdict(list)
        self.by_word: dict[str, list[_Entry]] = defaultdict(list)
        self.heads: dict[str, list[_Entry]] = defaultdict(list)
        self.tails: dict[str, list[_Entry]] = defaultdict(list)
        for entry in entries:
            pattern = entry[2]
            if pattern.exact:
                self.by_word[pattern.words[0]].append(entry)
            else:
                self.by_stem[pattern.stems[0]].append(entry)
            if pattern.compound:
                self.heads[pattern.words[0]].append(entry)
                if len(pattern.stems[0]) >= COMPOUND_MIN_LETTERS:
                    self.tails[pattern.stems[0]].append(entry)
        self.head_lengths = sorted({len(w) for w in self.heads})
        self.tail_lengths = sorted({len(s) for s in self.tails})
        # What may match at a word is worked out once per word (its stem follows from it).
        self._candidates: dict[str, tuple[list[_Entry], list[_Entry]]] = {}

    def hits(self, tokens: list[Token]) -> list[tuple[int, int, str, str, _Pattern]]:
        """Every (start, end, taxonomy id, term id, pattern) occurring in one clause."""
        found: dict[tuple, tuple[int, int, str, str, _Pattern]] = {}
        for start, token in enumerate(tokens):
            candidates = self._candidates.get(token.word)
            if candidates is None:
                candidates = self._candidates[token.word] = self.candidates(token)
            whole, in_compound = candidates
            for taxonomy_id, term_id, pattern in whole:
                if pattern.continues_at(tokens, start):
                    end = start + len(pattern.words)
                    found[(start, end, taxonomy_id, term_id, pattern.text)] = (
                        start,
                        end,
                        taxonomy_id,
                        term_id,
                        pattern,
                    )
            for taxonomy_id, term_id, pattern in in_compound:
                key = (start, start + 1, taxonomy_id, term_id, pattern.text)
                found[key] = (start, start + 1, taxonomy_id, term_id, pattern)
        return list(found.values())

    def candidates(self, token: Token) -> tuple[list[_Entry], list[_Entry]]:
        """The entries that may start at this word, and those found inside it: at the head
        ('schuld' in 'schuldhulp') or, stemmed, at the tail, leaving a plausible word as the rest."""
        whole = [*self.by_stem.get(token.stem, ()), *self.by_word.get(token.word, ())]
        entries = [
            entry
            for length in self.head_lengths
            if len(token.word) - length >= COMPOUND_MIN_REST
            for entry in self.heads.get(token.word[:length], ())
        ]
        entries += [
            entry
            for length in self.tail_lengths
            if len(token.stem) - length >= COMPOUND_MIN_REST
            for entry in self.tails.get(token.stem[-length:], ())
        ]
        return whole, entries


def _pattern(entry: str, factor: float, dutch: bool) -> _Pattern | None:
    """Compile one lexicon entry; only strong Dutch single words match inside compounds.
    '=word' and English entries match their exact words: the Dutch stemmer would make
    '=ouders' match 'ouder' (older) and 'loss' match 'los'."""
    exact = entry.startswith("=")
    entry_words = tuple(words(entry.removeprefix("=")))
    if not entry_words:
        return None
    strong_dutch_word = dutch and factor == 1.0 and not exact and len(entry_words) == 1
    compound = strong_dutch_word and len(entry_words[0]) >= COMPOUND_MIN_LETTERS
    return _Pattern(
        text=entry.removeprefix("="),
        words=entry_words,
        stems=tuple(stem(w) for w in entry_words),
        factor=factor,
        compound=compound,
        exact=exact or not dutch,
    )


# One piece of evidence a field gives a term: ((taxonomy id, term id), (field, lexicon entry),
# weight, reason, whether it is strong).
_Contribution = tuple[tuple[str, str], tuple[str, str], float, str, bool]


class _Evidence:
    """Matches of one term, counted once per (field, lexicon entry)."""

    __slots__ = ("positive", "strong")

    def __init__(self) -> None:
        self.positive: dict[tuple[str, str], tuple[float, str]] = {}
        self.strong = False

    def confidence(self) -> float:
        return _combine(w for w, _ in self.positive.values())

    def reasons(self) -> list[str]:
        ranked = sorted(self.positive.values(), key=lambda item: -item[0])
        unique: dict[str, str] = {}
        for _, reason in ranked:
            unique.setdefault(reason.lower(), reason)
        return list(unique.values())


def _combine(weights) -> float:
    """1 - Π(1 - w): each further piece of evidence adds, none alone reaches certainty."""
    remaining = 1.0
    for weight in weights:
        remaining *= 1.0 - weight
    return 1.0 - remaining


@dataclass(frozen=True)
class _Spec:
    """What scoring needs of one taxonomy, looked up once."""

    id: str
    single: bool
    terms: dict[str, tuple[int, Term, float]]  # term id -> (file order, term, threshold)


class Classifier:
    """A taxonomy compiled for matching: build once, classify many services.

    A label is only given on evidence: a service whose text says nothing about its access
    route gets no access label, rather than a guessed default."""

    def __init__(self, taxonomy: Taxonomy):
        self.taxonomy = taxonomy
        self._specs = [
            _Spec(
                id=spec.id,
                single=spec.single,
                terms={t.id: (i, t, spec.threshold_of(t)) for i, t in enumerate(spec.terms)},
            )
            for spec in taxonomy.taxonomies
        ]
        self._single = {spec.id: spec.single for spec in self._specs}
        self._terms = {spec.id: spec.terms for spec in self._specs}
        self._readers = {
            name: frozenset(spec.id for spec in taxonomy.taxonomies if name in spec.fields)
            for name in ("name", "organization", "categories", "audience", "description")
        }
        weights = taxonomy.field_weights
        self._fields = {
            "name": ("name", weights.name),
            "organization": ("organization", weights.organization),
            "categories": ("category", weights.category),
            "audience": ("audience", weights.audience),
            "description": ("description", weights.description),
        }
        entries: list[_Entry] = []
        # folded source category -> the (taxonomy, term) it implies
        self._categories: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for spec in taxonomy.taxonomies:
            for term in spec.terms:
                lexicon = term.lexicon
                patterns = [
                    *(_pattern(e, 1.0, dutch=True) for e in lexicon.nl),
                    *(_pattern(e, 1.0, dutch=False) for e in lexicon.en),
                    *(_pattern(e, WEAK_FACTOR, dutch=True) for e in lexicon.weak),
                ]
                entries += [(spec.id, term.id, p) for p in patterns if p is not None]
                if "categories" in spec.fields:
                    for category in dict.fromkeys(" ".join(words(c)) for c in lexicon.categories):
                        self._categories[category].append((spec.id, term.id))
        self._index = _LexiconIndex(entries)
        self._texts: dict[tuple[str, str], list[_Contribution]] = {}
        self._clauses: dict[tuple[str, ...], list[_Match]] = {}

    def classify(
        self,
        name: str,
        description: str | None,
        categories: list[str],
        audience: str | None,
        organization: str | None = None,
    ) -> list[Label]:
        """Labels of every taxonomy for one service, best first within each taxonomy; each
        taxonomy reads only the fields it lists (the organisation name decides the sector only)."""
        evidence: dict[tuple[str, str], _Evidence] = {}
        for category in categories:
            for term_key, key, weight, reason, _ in self._contributions("category=", category):
                found = evidence.get(term_key) or evidence.setdefault(term_key, _Evidence())
                found.positive[key] = (weight, reason)
                found.strong = True
        texts = [
            ("name", name),
            ("organization", organization),
            *(("categories", c) for c in categories),
            ("audience", audience),
            ("description", description),
        ]
        for field_name, text in texts:
            if not text:
                continue
            for term_key, key, weight, reason, strong in self._contributions(field_name, text):
                found = evidence.get(term_key) or evidence.setdefault(term_key, _Evidence())
                if key not in found.positive:
                    found.positive[key] = (weight, reason)
                    found.strong = found.strong or strong

        scored: dict[str, list[tuple[float, int, Term, _Evidence]]] = defaultdict(list)
        for (taxonomy_id, term_id), found in evidence.items():
            # Weak words only add to other evidence: 'thuis' alone is no daily-living service.
            if not found.strong:
                continue
            order, term, threshold = self._terms[taxonomy_id][term_id]
            confidence = found.confidence()
            if confidence >= threshold:
                scored[taxonomy_id].append((-confidence, order, term, found))
        labels: list[Label] = []
        for spec in self._specs:
            best = sorted(scored.get(spec.id, ()), key=lambda item: item[:2])  # ties keep the file's order
            for minus_confidence, _, term, found in best[:1] if spec.single else best:
                labels.append(
                    Label(
                        taxonomy=spec.id,
                        term=term.id,
                        term_label=term.label.nl,
                        confidence=round(-minus_confidence, 3),
                        evidence=found.reasons(),
                    )
                )
        return labels

    def _contributions(self, field_name: str, text: str) -> list[_Contribution]:
        """What one field's text says, for the taxonomies that read the field; 'category='
        is a source category matched as a whole."""
        cached = self._texts.get((field_name, text))
        if cached is not None:
            return cached
        if field_name == "category=":
            folded = " ".join(words(text))
            weight = self.taxonomy.field_weights.category
            cached = [
                (term_key, ("category=", folded), weight, f'category: "{text}"', True)
                for term_key in self._categories.get(folded, ())
            ]
        else:
            label, weight = self._fields[field_name]
            readers = self._readers[field_name]
            cached, seen = [], set()
            for clause in clauses(text):
                for taxonomy_id, term_id, entry, factor, matched in self._matches_in_clause(clause):
                    if taxonomy_id in readers and (taxonomy_id, term_id, entry) not in seen:
                        # the first mention of an entry in a field is the one shown
                        seen.add((taxonomy_id, term_id, entry))
                        reason = f'{label}: "{matched}"'
                        strong = factor == 1.0
                        term_key = (taxonomy_id, term_id)
                        cached.append((term_key, (label, entry), weight * factor, reason, strong))
        if len(self._texts) >= _CACHE_LIMIT:
            self._texts.clear()
        self._texts[(field_name, text)] = cached
        return cached

    def _matches_in_clause(self, clause: tuple[str, ...]) -> list[_Match]:
        """The (taxonomy, term, lexicon entry, factor, words matched) that count in one clause:
        a longer match hides the shorter ones inside it, of the same term ('niet rondkomen' is
        not a negated 'rondkomen') and, in a single-valued taxonomy, of every term ('aanmelden
        via de huisarts' is a referral, not a registration); a denied mention is no evidence."""
        cached = self._clauses.get(clause)
        if cached is not None:
            return cached
        clause_tokens = tokens(clause)
        hits = sorted(self._index.hits(clause_tokens), key=lambda hit: (hit[0] - hit[1], hit[0]))
        taken: dict[tuple[str, str], set[int]] = {}
        cached = []
        for start, end, taxonomy_id, term_id, pattern in hits:
            used = taken.setdefault((taxonomy_id, "" if self._single[taxonomy_id] else term_id), set())
            if used.intersection(range(start, end)):
                continue
            negated = _negated(clause_tokens, start, end, used)
            used.update(range(start, end))
            # A denied mention does not outweigh what is said elsewhere: 'niet thuis kunnen
            # sterven' still speaks of the last phase of life.
            if not negated:
                matched = " ".join(clause[start:end])
                cached.append((taxonomy_id, term_id, pattern.text, pattern.factor, matched))
        if len(self._clauses) >= _CACHE_LIMIT:
            self._clauses.clear()
        self._clauses[clause] = cached
        return cached


def _negated(tokens: list[Token], start: int, end: int, taken: set[int]) -> bool:
    """'geen schuldhulp', 'niet bedoeld voor jongeren', 'indicatie niet nodig'; a negation
    inside a phrase the term already matched ('zonder afspraak binnenlopen') denies nothing."""
    for index in range(max(0, start - NEGATION_WINDOW), start):
        if tokens[index].word in _NEGATIONS and index not in taken:
            following = tokens[index + 1].word if index + 1 < len(tokens) else ""
            if following not in _NOT_NEGATING_NEXT:
                return True
    after = [t.word for t in tokens[end : end + NEGATION_WINDOW + 1]]
    return any(pair == tuple(after[i : i + 2]) for pair in _NEGATING_AFTER for i in range(len(after) - 1))


def classify_text(
    name: str,
    description: str | None,
    categories: list[str],
    audience: str | None,
    taxonomy: Taxonomy,
    organization: str | None = None,
) -> list[Label]:
    """Labels for one service's texts; see `Classifier` (build one for many services)."""
    return Classifier(taxonomy).classify(name, description, categories, audience, organization)


class OverridesError(ValueError):
    """An overrides file with one or more mistakes; the message lists every one."""

    def __init__(self, path: Path | str, problems: list[str]):
        self.problems = problems
        listing = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{path}: {len(problems)} problem(s):\n{listing}")


class Override(BaseModel):
    """An operator's correction of one label of one service; it wins over the classifier."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    service_id: str
    taxonomy: str
    term: str
    action: Literal["add", "remove"]
    reason: str


def default_overrides_path() -> Path:
    return Path(str(resources.files("servicemap.classify") / "overrides.yaml"))


def load_overrides(taxonomy: Taxonomy, path: Path | str | None = None) -> list[Override]:
    """Read the overrides (default: the packaged file) and refuse any naming an unknown
    taxonomy or term, or without a reason."""
    path = Path(path) if path is not None else default_overrides_path()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise OverridesError(path, [f"cannot read the file: {exc}"]) from None
    if data is None:
        return []
    if not isinstance(data, list):
        raise OverridesError(path, ["expected a list of overrides"])
    overrides, problems = [], []
    for index, entry in enumerate(data):
        where = f"[{index}]"
        try:
            override = Override.model_validate(entry)
        except ValidationError as exc:
            for error in exc.errors():
                field_name = ".".join(str(p) for p in error["loc"]) or "entry"
                problems.append(f"{where}: {field_name}: {error['msg']}")
            continue
        problems.extend(
            f"{where} (service {override.service_id!r}): {p}" for p in _override_problems(override, taxonomy)
        )
        overrides.append(override)
    if problems:
        raise OverridesError(path, problems)
    return overrides


def _override_problems(override: Override, taxonomy: Taxonomy) -> list[str]:
    known = {spec.id: [t.id for t in spec.terms] for spec in taxonomy.taxonomies}
    if override.taxonomy not in known:
        return [f"taxonomy: {override.taxonomy!r} is not a taxonomy (one of {list(known)})"]
    problems = []
    terms = known[override.taxonomy]
    if override.term not in terms:
        problems.append(f"term: {override.term!r} is not a term of {override.taxonomy!r} (one of {terms})")
    if not override.reason.strip():
        problems.append("reason: is empty (say why, a colleague will read it)")
    return problems


def apply_overrides(
    service_id: str, labels: list[Label], overrides: list[Override], taxonomy: Taxonomy
) -> list[Label]:
    """The labels after the operator's overrides for this service: 'remove' drops a label,
    'add' gives it with confidence 1 and evidence "override: <reason>", replacing the
    classifier's choice in a single-valued taxonomy."""
    result = list(labels)
    for override in (o for o in overrides if o.service_id == service_id):
        spec = taxonomy.get(override.taxonomy)
        if override.action == "remove":
            result = [lb for lb in result if (lb.taxonomy, lb.term) != (override.taxonomy, override.term)]
            continue
        result = [
            lb
            for lb in result
            if lb.taxonomy != override.taxonomy or (not spec.single and lb.term != override.term)
        ]
        result.append(
            Label(
                taxonomy=override.taxonomy,
                term=override.term,
                term_label=spec.term(override.term).label.nl,
                confidence=1.0,
                evidence=[f"override: {override.reason}"],
            )
        )
    order = {spec.id: index for index, spec in enumerate(taxonomy.taxonomies)}
    return sorted(result, key=lambda lb: (order[lb.taxonomy], -lb.confidence))


def classify_services(
    services: list[DirectoryService], taxonomy: Taxonomy, overrides: list[Override] | None = None
) -> list[ClassifiedService]:
    """Every service with its labels; overrides for services not in `services` have no effect."""
    classifier = Classifier(taxonomy)
    result = []
    for service in services:
        labels = classifier.classify(
            service.name, service.description, service.categories, service.audience, service.organization
        )
        labels = apply_overrides(service.id, labels, overrides or [], taxonomy)
        result.append(ClassifiedService(**service.model_dump(), labels=labels))
    return result
