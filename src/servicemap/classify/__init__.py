"""Life-domain classification with facets: who a service is for, its sector, its access
route and its cost, each label with a confidence and the evidence that decided it."""

from servicemap.classify.classifier import (
    Classifier,
    Override,
    OverridesError,
    apply_overrides,
    classify_services,
    classify_text,
    load_overrides,
)
from servicemap.classify.evaluate import LabelScore, LabelScores, format_scores, label_scores
from servicemap.classify.taxonomy import Taxonomy, TaxonomyError, Term, load_taxonomy, parse_taxonomy

__all__ = [
    "Classifier",
    "LabelScore",
    "LabelScores",
    "Override",
    "OverridesError",
    "Taxonomy",
    "TaxonomyError",
    "Term",
    "apply_overrides",
    "classify_services",
    "classify_text",
    "format_scores",
    "label_scores",
    "load_overrides",
    "load_taxonomy",
    "parse_taxonomy",
]
