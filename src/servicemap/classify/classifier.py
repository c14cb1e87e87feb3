"""Life domains and facets for each service, from the words and source categories that
decide them, with a confidence and the evidence; operator overrides have the last word."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from servicemap.classify.taxonomy import Taxonomy, TaxonomySpec, Term
from servicemap.classify.text import Token, clauses, stem, words
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


_Entry = tuple[str, _Pattern]  # (term id, pattern)


class _LexiconIndex:
    """The lexicons of one taxonomy indexed by their first word, so that a clause is read
    once instead of once per lexicon entry."""

    def __init__(self, entries: list[_Entry]):
        self.by_stem: dict[str, list[_Entry]] = defaultdict(list)
        self.by_word: dict[str, list[_Entry]] = defaultdict(list)
        self.heads: dict[str, list[_Entry]] = defaultdict(list)
        self.tails: dict[str, list[_Entry]] = defaultdict(list)
        for term_id, pattern in entries:
            if pattern.exact:
                self.by_word[pattern.words[0]].append((term_id, pattern))
            else:
                self.by_stem[pattern.stems[0]].append((term_id, pattern))
            if pattern.compound:
                self.heads[pattern.words[0]].append((term_id, pattern))
                if len(pattern.stems[0]) >= COMPOUND_MIN_LETTERS:
                    self.tails[pattern.stems[0]].append((term_id, pattern))
        self.head_lengths = sorted({len(w) for w in self.heads})
        self.tail_lengths = sorted({len(s) for s in self.tails})
        # A directory repeats its words: what may match at a word is worked out once per
        # word (its stem follows from it).
        self._candidates: dict[str, tuple[list[_Entry], list[_Entry]]] = {}

    def hits(self, tokens: list[Token]) -> list[tuple[int, int, str, _Pattern]]:
        """Every (start, end, term id, pattern) occurring in one clause."""
        found: dict[tuple[int, int, str, str], tuple[int, int, str, _Pattern]] = {}
        for start, token in enumerate(tokens):
            candidates = self._candidates.get(token.word)
            if candidates is None:
                candidates = self._candidates[token.word] = self.candidates(token)
            whole, in_compound = candidates
            for term_id, pattern in whole:
                if pattern.continues_at(tokens, start):
                    end = start + len(pattern.words)
                    found[(start, end, term_id, pattern.text)] = (start, end, term_id, pattern)
            for term_id, pattern in in_compound:
                found[(start, start + 1, term_id, pattern.text)] = (start, start + 1, term_id, pattern)
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


@dataclass
class _CompiledTerm:
    spec: TaxonomySpec
    term: Term
    patterns: list[_Pattern]
    categories: dict[str, str]


@dataclass
class _Evidence:
    """Matches of one term, counted once per (field, lexicon entry)."""

    positive: dict[tuple[str, str], tuple[float, str]] = field(default_factory=dict)
    strong: bool = False

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


class Classifier:
    """A taxonomy compiled for matching: build once, classify many services.

    A label is only given on evidence: a service whose text says nothing about its access
    route gets no access label, rather than a guessed default."""

    def __init__(self, taxonomy: Taxonomy):
        self.taxonomy = taxonomy
        self._terms: list[_CompiledTerm] = []
        for spec in taxonomy.taxonomies:
            for term in spec.terms:
                lexicon = term.lexicon
                entries = [
                    *(_pattern(e, 1.0, dutch=True) for e in lexicon.nl),
                    *(_pattern(e, 1.0, dutch=False) for e in lexicon.en),
                    *(_pattern(e, WEAK_FACTOR, dutch=True) for e in lexicon.weak),
                ]
                self._terms.append(
                    _CompiledTerm(
                        spec=spec,
                        term=term,
                        patterns=[p for p in entries if p is not None],
                        categories={" ".join(words(c)): c for c in lexicon.categories},
                    )
                )
        self._terms_of = {spec.id: [t for t in self._terms if t.spec is spec] for spec in taxonomy.taxonomies}
        self._indexes = {
            spec.id: _LexiconIndex(
                [(t.term.id, p) for t in self._terms if t.spec is spec for p in t.patterns]
            )
            for spec in taxonomy.taxonomies
        }

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
        weights = self.taxonomy.field_weights
        texts = [
            ("name", "name", weights.name, name),
            ("organization", "organization", weights.organization, organization),
            *(("categories", "category", weights.category, c) for c in categories),
            ("audience", "audience", weights.audience, audience),
            ("description", "description", weights.description, description),
        ]
        read = [(f, label, w, clauses(t)) for f, label, w, t in texts if t]
        folded_categories = {" ".join(words(c)): c for c in categories}

        labels: list[Label] = []
        for spec in self.taxonomy.taxonomies:
            compiled_terms = self._terms_of[spec.id]
            evidence = {t.term.id: _Evidence() for t in compiled_terms}
            if "categories" in spec.fields:
                for compiled in compiled_terms:
                    for key, original in folded_categories.items():
                        if key in compiled.categories:
                            found = evidence[compiled.term.id]
                            found.positive[("category=", key)] = (weights.category, f'category: "{original}"')
                            found.strong = True
            for field_name, field_label, weight, field_clauses in read:
                if field_name in spec.fields:
                    _collect(
                        self._indexes[spec.id], spec.single, field_label, weight, field_clauses, evidence
                    )
            scored = []
            for compiled in compiled_terms:
                found = evidence[compiled.term.id]
                confidence = found.confidence()
                # Weak words only add to other evidence: 'thuis' alone is no daily-living service.
                if found.strong and confidence >= spec.threshold_of(compiled.term):
                    scored.append((confidence, compiled.term, found))
            scored.sort(key=lambda item: -item[0])  # stable: ties keep the file's order
            for confidence, term, found in scored[:1] if spec.single else scored:
                labels.append(
                    Label(
                        taxonomy=spec.id,
                        term=term.id,
                        term_label=term.label.nl,
                        confidence=round(confidence, 3),
                        evidence=found.reasons(),
                    )
                )
        return labels


def _collect(
    index: _LexiconIndex,
    single: bool,
    field_label: str,
    weight: float,
    field_clauses: list[list[Token]],
    into: dict[str, _Evidence],
) -> None:
    """Add the matches in one field: a longer match hides the shorter ones inside it, of the
    same term ('niet rondkomen' is not a negated 'rondkomen') and, in a single-valued
    taxonomy, of every term ('aanmelden via de huisarts' is a referral, not a registration)."""
    for tokens in field_clauses:
        hits = sorted(index.hits(tokens), key=lambda hit: (hit[0] - hit[1], hit[0]))
        taken: dict[str, set[int]] = {}
        for start, end, term_id, pattern in hits:
            used = taken.setdefault("" if single else term_id, set())
            if used.intersection(range(start, end)):
                continue
            key = (field_label, pattern.text)
            negated = _negated(tokens, start, end, used)
            used.update(range(start, end))
            # A denied mention is no evidence, but it does not outweigh what is said elsewhere:
            # 'niet thuis kunnen sterven' still speaks of the last phase of life.
            if not negated and key not in into[term_id].positive:
                matched = " ".join(t.word for t in tokens[start:end])
                into[term_id].positive[key] = (weight * pattern.factor, f'{field_label}: "{matched}"')
                into[term_id].strong = into[term_id].strong or pattern.factor == 1.0


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
