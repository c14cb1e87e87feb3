"""Text similarities of many record pairs at once: numpy and rapidfuzz over whole arrays, so that
scoring never calls a scorer once per pair from Python."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np
from rapidfuzz import fuzz, process
from scipy import sparse

# Containment compares words of at least this many letters: shorter ones match inside anything.
MIN_CONTAINED = 3
_SLICE = 200_000


def _as_index(values: Sequence[int] | np.ndarray) -> np.ndarray:
    return np.asarray(values, dtype=np.int64)


def weighted_words(documents: Sequence[Sequence[str]]) -> sparse.csr_matrix:
    """Each document (its word stems) as a unit-length TF-IDF row over the words of all of them.

    A word most documents use ('hulp', 'cursus') weighs little, a word few use ('valpreventie',
    'budgetcoach') much: two reworded descriptions of one service share the rare words. The
    smoothed IDF keeps shared words worth something when only two documents are compared."""
    vocabulary: dict[str, int] = {}
    rows: list[int] = []
    columns: list[int] = []
    counts: list[int] = []
    for row, words in enumerate(documents):
        for word, count in Counter(words).items():
            rows.append(row)
            columns.append(vocabulary.setdefault(word, len(vocabulary)))
            counts.append(count)
    shape = (len(documents), max(len(vocabulary), 1))
    if not rows:
        return sparse.csr_matrix(shape, dtype=np.float64)
    column_index = np.asarray(columns, dtype=np.int64)
    frequency = np.bincount(column_index, minlength=shape[1])
    idf = np.log((1 + len(documents)) / (1 + frequency)) + 1.0
    values = (1.0 + np.log(np.asarray(counts, dtype=np.float64))) * idf[column_index]
    matrix = sparse.csr_matrix((values, (np.asarray(rows), column_index)), shape=shape)
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sparse.csr_matrix(sparse.diags(1.0 / norms) @ matrix)


def pair_cosines(matrix: sparse.csr_matrix, left: Sequence[int], right: Sequence[int]) -> np.ndarray:
    """Cosine of rows `left[k]` and `right[k]` for every k, as one sparse product."""
    return pair_products(matrix, matrix, left, right)


def pair_products(
    first: sparse.csr_matrix, second: sparse.csr_matrix, left: Sequence[int], right: Sequence[int]
) -> np.ndarray:
    """Dot product of row `left[k]` of `first` and row `right[k]` of `second` for every k: over
    0/1 rows of values (phones, organisation words), how many values two records share."""
    left, right = _as_index(left), _as_index(right)
    products = np.zeros(len(left))
    # In slices, so that the row copies of a million pairs never sit in memory at once.
    for start in range(0, len(left), _SLICE):
        end = start + _SLICE
        product = first[left[start:end]].multiply(second[right[start:end]])
        products[start:end] = np.asarray(product.sum(axis=1)).ravel()
    return products


def value_matrix(
    values: Sequence[Sequence[str]], vocabulary: dict[str, int] | None = None
) -> sparse.csr_matrix:
    """Each item's values as a 0/1 row, columns from `vocabulary` (extended as needed), so that
    two matrices built on one vocabulary can be multiplied row by row."""
    vocabulary = {} if vocabulary is None else vocabulary
    rows: list[int] = []
    columns: list[int] = []
    for row, item in enumerate(values):
        for value in set(item):
            rows.append(row)
            columns.append(vocabulary.setdefault(value, len(vocabulary)))
    shape = (len(values), max(len(vocabulary), 1))
    data = np.ones(len(rows), dtype=np.float64)
    return sparse.csr_matrix(
        (data, (np.asarray(rows, dtype=np.int64), np.asarray(columns, dtype=np.int64))), shape=shape
    )


def codes(values: Sequence[str | None], vocabulary: dict[str, int] | None = None) -> np.ndarray:
    """Each value as an integer (-1 for none), equal values equal integers: equality of a
    million pairs becomes one numpy comparison. Share `vocabulary` between two columns that
    are compared with each other (a website and a page)."""
    vocabulary = {} if vocabulary is None else vocabulary
    return np.fromiter(
        (-1 if value is None else vocabulary.setdefault(value, len(vocabulary)) for value in values),
        dtype=np.int64,
        count=len(values),
    )


def _word_table(
    words: Sequence[Sequence[str]], vocabulary: dict[str, int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The words of at least MIN_CONTAINED letters of every item in one flat array of word ids
    (from `vocabulary`, extended as needed), with each item's offset and count into it, and
    each item's total letters (all of its words)."""
    flat: list[int] = []
    starts = np.zeros(len(words), dtype=np.int64)
    sizes = np.zeros(len(words), dtype=np.int64)
    letters = np.zeros(len(words), dtype=np.int64)
    for item, item_words in enumerate(words):
        starts[item] = len(flat)
        long_words = [w for w in item_words if len(w) >= MIN_CONTAINED]
        flat.extend(vocabulary.setdefault(w, len(vocabulary)) for w in long_words)
        sizes[item] = len(long_words)
        letters[item] = sum(len(w) for w in item_words)
    return np.asarray(flat, dtype=np.int64), starts, sizes, letters


def _combinations(
    left_sizes: np.ndarray, right_sizes: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For pairs with `left_sizes[k]` and `right_sizes[k]` words: the pair of every word
    combination, and the position of each side's word within its item, pair-major."""
    per_pair = left_sizes * right_sizes
    pair = np.repeat(np.arange(len(per_pair)), per_pair)
    first = np.repeat(np.cumsum(per_pair) - per_pair, per_pair)
    within = np.arange(len(pair)) - first
    right_count = right_sizes[pair]
    return pair, within // np.maximum(right_count, 1), within % np.maximum(right_count, 1)


def containments(
    left_words: Sequence[Sequence[str]],
    right_words: Sequence[Sequence[str]],
    left: Sequence[int],
    right: Sequence[int],
) -> np.ndarray:
    """How far one name's words are found inside the other's, the better direction, for the
    pairs (`left_words[left[k]]`, `right_words[right[k]]`): Dutch writes 'Hulp bij schulden' as
    well as 'Schuldhulp'. Per direction, the mean of the share of the smaller name's letters
    found and the share of the larger name's letters they cover, so that 'Wmo' does not equal
    'Wmo-vervoer'; 0.0 where no word is found.

    >>> round(float(containments([("hulp", "schul")], [("schuldhulp",)], [0], [0])[0]), 2)
    0.95

    Every distinct word combination of the pairs goes through one rapidfuzz call (a partial ratio of
    100 is a substring) and numpy sums them per pair."""
    left, right = _as_index(left), _as_index(right)
    result = np.zeros(len(left))
    if len(left) == 0:
        return result
    vocabulary: dict[str, int] = {}
    left_table = _word_table(left_words, vocabulary)
    same_words = right_words is left_words
    right_table = left_table if same_words else _word_table(right_words, vocabulary)
    spelled = list(vocabulary)
    word_length = np.fromiter((len(w) for w in spelled), dtype=np.int64, count=len(spelled))
    # In slices of pairs: a million pairs of names make several million word combinations.
    for begin in range(0, len(left), _SLICE):
        part = slice(begin, begin + _SLICE)
        result[part] = _contained(left_table, right_table, spelled, word_length, left[part], right[part])
    return result


def _contained(
    left_table: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    right_table: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    spelled: list[str],
    word_length: np.ndarray,
    left: np.ndarray,
    right: np.ndarray,
) -> np.ndarray:
    """`containments` of one slice of pairs, over word tables built once for all of them."""
    left_flat, left_starts, left_sizes, left_letters = left_table
    right_flat, right_starts, right_sizes, right_letters = right_table
    result = np.zeros(len(left))
    pair, x, y = _combinations(left_sizes[left], right_sizes[right])
    if len(pair) == 0:
        return result
    a = left_flat[left_starts[left][pair] + x]
    b = right_flat[right_starts[right][pair] + y]
    # Names share few words: each distinct word combination is compared once.
    combination, inverse = np.unique(a * len(spelled) + b, return_inverse=True)
    same = (
        process.cpdist(
            [spelled[w] for w in (combination // len(spelled)).tolist()],
            [spelled[w] for w in (combination % len(spelled)).tolist()],
            scorer=fuzz.partial_ratio,
            workers=-1,
        )
        == 100
    )[inverse.ravel()]
    a_length, b_length = word_length[a], word_length[b]
    for contained, small, big, small_length, big_length, small_letters, big_letters in (
        (
            same & (a_length <= b_length),
            x,
            y,
            a_length,
            b_length,
            left_letters[left],
            right_letters[right],
        ),
        (
            same & (b_length <= a_length),
            y,
            x,
            b_length,
            a_length,
            right_letters[right],
            left_letters[left],
        ),
    ):
        result = np.maximum(
            result,
            _direction(pair, contained, small, big, small_length, big_length, small_letters, big_letters),
        )
    return result


def _direction(
    pair: np.ndarray,
    contained: np.ndarray,
    small: np.ndarray,
    big: np.ndarray,
    small_length: np.ndarray,
    big_length: np.ndarray,
    small_letters: np.ndarray,
    big_letters: np.ndarray,
) -> np.ndarray:
    """Containment of the small side's words in the big side's, per pair (see `containments`)."""
    pairs = len(small_letters)
    # A small word counts once however many big words hold it: one key per (pair, word).
    small_key = pair * (int(small.max()) + 1) + small
    found_keys, first = np.unique(small_key[contained], return_index=True)
    found = np.bincount(
        found_keys // (int(small.max()) + 1), weights=small_length[contained][first], minlength=pairs
    )
    # Every small word meets the big side's first word once: its long words' letters per pair.
    firsts = big == 0
    small_total = np.bincount(pair[firsts], weights=small_length[firsts], minlength=pairs)
    # Each big word covers at most its own letters, however many small words it holds.
    big_key = pair * (int(big.max()) + 1) + big
    big_keys, big_first, inverse = np.unique(big_key, return_index=True, return_inverse=True)
    held = np.bincount(inverse, weights=np.where(contained, small_length, 0))
    covered = np.bincount(
        big_keys // (int(big.max()) + 1),
        weights=np.minimum(big_length[big_first], held),
        minlength=pairs,
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        score = (found / small_total + covered / np.maximum(big_letters, 1)) / 2
    return np.where(found > 0, score, 0.0)
