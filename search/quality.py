"""Queries for measuring search quality: what a user types, and which stocks they meant.

Pure and deterministic (a seeded `random.Random`), so the benchmark's figures can be reproduced
and the generator itself is unit-tested. Stocks come in as `(ticker, normalized name)` pairs, the
name already unaccented and lower-cased by the database (`lower(immutable_unaccent(name))`), so
that a "word" here is what the search functions see.

Typos are single edits of four kinds, at any position, modelled on how people mistype:

- deletion: a letter left out;
- insertion: a letter typed twice, or a key next to its neighbour pressed as well;
- substitution: a neighbouring key on a QWERTY keyboard pressed instead;
- transposition: two adjacent, different letters swapped.

Each counts as one edit for Elasticsearch's `fuzziness: AUTO` (transpositions included), which
is the bar: one edit allowed for 3-5 characters, two beyond.
"""

from __future__ import annotations

import random
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

EDIT_KINDS: tuple[str, ...] = ("deletion", "insertion", "substitution", "transposition")

_ROWS = ("1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm")


def _keyboard() -> dict[str, str]:
    """Each key's neighbours on a QWERTY keyboard: left, right, and the keys above and below
    that touch it (rows are offset by half a key)."""
    neighbours: dict[str, set[str]] = defaultdict(set)
    for r, row in enumerate(_ROWS):
        for c, key in enumerate(row):
            for dc in (-1, 1):
                if 0 <= c + dc < len(row):
                    neighbours[key].add(row[c + dc])
            for dr in (-1, 1):
                if 0 <= r + dr < len(_ROWS):
                    other = _ROWS[r + dr]
                    # The row below sits half a key to the right: key c touches c-1 and c below,
                    # c and c+1 above.
                    for oc in (c - 1, c) if dr == 1 else (c, c + 1):
                        if 0 <= oc < len(other):
                            neighbours[key].add(other[oc])
    return {key: "".join(sorted(keys)) for key, keys in neighbours.items()}


KEYBOARD_NEIGHBOURS: Mapping[str, str] = _keyboard()


def terms(text: str) -> tuple[str, ...]:
    """The alphanumeric words of an already normalised text, in order (what the SQL tokenizer
    `stocks_search_tokens` gives for it)."""
    return tuple(t for t in re.split(r"[^0-9a-z]+", text.lower()) if t)


def edit(word: str, kind: str, rng: random.Random) -> str:
    """`word` with one edit of `kind` at a random position; never `word` itself.

    Raises ValueError for an unknown kind or a word too short to edit that way.
    """
    if kind not in EDIT_KINDS:
        raise ValueError(f"unknown edit kind {kind!r}: expected one of {', '.join(EDIT_KINDS)}")
    if kind == "deletion":
        if len(word) < 2:
            raise ValueError(f"cannot delete a letter of {word!r}: too short")
        i = rng.randrange(len(word))
        return word[:i] + word[i + 1 :]
    if kind == "transposition":
        swappable = [i for i in range(len(word) - 1) if word[i] != word[i + 1]]
        if not swappable:
            raise ValueError(f"cannot swap two different adjacent letters of {word!r}")
        i = rng.choice(swappable)
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if not word:
        raise ValueError(f"cannot {kind} into an empty word")
    i = rng.randrange(len(word))
    near = KEYBOARD_NEIGHBOURS.get(word[i], "")
    if kind == "substitution":
        choices = [c for c in near if c != word[i]]
        if not choices:
            raise ValueError(f"no neighbouring key for {word[i]!r} in {word!r}")
        return word[:i] + rng.choice(choices) + word[i + 1 :]
    # Insertion: the key itself again (a double letter) or a neighbour of it, before or after.
    extra = rng.choice(word[i] + near) if near else word[i]
    j = i + rng.randrange(2)
    return word[:j] + extra + word[j:]


@dataclass(frozen=True)
class Query:
    """One query: its text, its class and edit kind, and the tickers of the stocks that count as
    found (every stock the query would match exactly had it been typed without the typo).

    `elsewhere`: the text, one word, is itself a word of a stock that is not relevant (the typo
    spells another company's ticker or name), so the search rightly ranks that exact match
    first and no typo ranking can tell the two apart."""

    text: str
    query_class: str
    kind: str
    relevant: frozenset[str]
    elsewhere: bool = False


@dataclass(frozen=True)
class Stock:
    ticker: str
    name: str  # unaccented, lower-cased


def _index(stocks: Iterable[Stock]) -> dict[str, set[str]]:
    """Word -> tickers of the stocks whose ticker or name has that word."""
    index: dict[str, set[str]] = defaultdict(set)
    for stock in stocks:
        for word in terms(stock.name) + terms(stock.ticker):
            index[word].add(stock.ticker)
    return index


def _with_all(index: Mapping[str, set[str]], words: Sequence[str]) -> frozenset[str]:
    found = set(index.get(words[0], set()))
    for word in words[1:]:
        found &= index.get(word, set())
    return frozenset(found)


def build_queries(
    stocks: Sequence[Stock],
    *,
    per_kind: int,
    seed: int,
    phrases: Sequence[str] = (),
    max_relevant: int = 10,
    real: frozenset[str] = frozenset(),
) -> list[Query]:
    """Queries of every class and kind, `per_kind` of each (fewer when the data has fewer).

    Classes:
    - `name word`: a word of five letters or more from a name, that at most `max_relevant` stocks
      share (a distinctive word: for `holdings` any of thousands of stocks would do), exact or
      with one edit of each kind;
    - `ticker`: a ticker of four or more letters or digits (no punctuation), exact or edited;
    - `multi-word`: `phrases` (real company names as people type them, e.g. "bank of america")
      and the first two words of names, exact or with one edit in one word of 5+ letters;
    - `prefix`: the first 4 to n-1 letters of a distinctive name word (type-ahead).

    With `real` (tickers of real companies), name words and tickers of those stocks form classes
    of their own, `name word (real)` and `ticker (real)`, drawn from the same way: real names
    are far sparser than syllable-built ones, where one letter more or less often spells
    another company's name.
    """
    rng = random.Random(seed)
    index = _index(stocks)
    ordered = sorted(stocks, key=lambda s: s.ticker)
    queries: list[Query] = []

    def query(text: str, query_class: str, kind: str, relevant: frozenset[str]) -> Query:
        elsewhere = " " not in text and bool(index.get(text, set()) - relevant)
        return Query(text, query_class, kind, relevant, elsewhere)

    def distinctive(stock: Stock) -> str | None:
        for word in terms(stock.name):
            if len(word) >= 5 and word.isalpha() and len(index[word]) <= max_relevant:
                return word
        return None

    def sample(pick: Sequence[tuple[str, frozenset[str]]], query_class: str) -> None:
        for kind in ("exact", *EDIT_KINDS):
            for _ in range(min(per_kind, len(pick))):
                word, relevant = rng.choice(pick)
                text = word if kind == "exact" else edit(word, kind, rng)
                queries.append(query(text, query_class, kind, relevant))

    words = [(w, frozenset(index[w])) for s in ordered if (w := distinctive(s)) is not None]
    real_words = [
        (w, frozenset(index[w]))
        for s in ordered
        if s.ticker in real and (w := distinctive(s)) is not None
    ]
    sample(words, "name word")
    if real_words:
        sample(real_words, "name word (real)")

    def ticker_queries(of: Iterable[Stock]) -> list[tuple[str, frozenset[str]]]:
        return [
            (s.ticker.lower(), frozenset({s.ticker}))
            for s in of
            if len(s.ticker) >= 4 and s.ticker.isalnum()
        ]

    sample(ticker_queries(ordered), "ticker")
    real_tickers = ticker_queries(s for s in ordered if s.ticker in real)
    if real_tickers:
        sample(real_tickers, "ticker (real)")

    multi: list[tuple[tuple[str, ...], frozenset[str]]] = []
    for phrase in phrases:
        multi.append((terms(phrase), _with_all(index, terms(phrase))))
    named = [s for s in ordered if len(terms(s.name)) >= 2 and distinctive(s)]
    for stock in rng.sample(named, min(per_kind, len(named))):
        first_two = terms(stock.name)[:2]
        multi.append((first_two, _with_all(index, first_two)))
    for kind in ("exact", "one typo"):
        for phrase_words, relevant in multi:
            if not relevant:
                continue
            typed = list(phrase_words)
            editable = [i for i, w in enumerate(typed) if len(w) >= 5 and w.isalpha()]
            if kind == "one typo":
                if not editable:
                    continue
                i = rng.choice(editable)
                typed[i] = edit(typed[i], rng.choice(EDIT_KINDS), rng)
            queries.append(query(" ".join(typed), "multi-word", kind, relevant))

    long_words = [(w, r) for w, r in words if len(w) >= 5]
    for _ in range(min(per_kind, len(long_words))):
        word, relevant = rng.choice(long_words)
        cut = rng.randint(4, len(word) - 1)
        queries.append(query(word[:cut], "prefix", "prefix", relevant))
    return queries


@dataclass(frozen=True)
class Recall:
    query_class: str
    kind: str
    queries: int
    at_1: float
    at_5: float
    # With scores: a relevant stock scored as high as the fifth result counts too (a tie that
    # the order among equals, not the ranking, left out of the first five).
    at_5_ties: float | None = None
    # The share of queries that spell another stock's word (Query.elsewhere), and recall@5 of
    # the others (None when there are none).
    elsewhere: float = 0.0
    at_5_rest: float | None = None


def recall(
    queries: Sequence[Query],
    results: Sequence[Sequence[str]],
    scores: Sequence[Sequence[float]] | None = None,
) -> list[Recall]:
    """Recall@1 and @5 per (class, kind), in the order the classes first appear: the share of
    queries with a relevant stock first, or among the first five results (tickers, best first);
    with `scores` (each result's score, parallel to `results`), also @5 including ties; and the
    share of queries that spell another stock's word, with @5 of the rest."""
    if len(queries) != len(results):
        raise ValueError(f"{len(queries)} queries but {len(results)} result lists")
    if scores is not None and [len(r) for r in results] != [len(s) for s in scores]:
        raise ValueError("scores must have one value per result")
    groups: dict[tuple[str, str], list[tuple[bool, bool, bool, bool]]] = {}
    for n, (query, tickers) in enumerate(zip(queries, results, strict=True)):
        hit_1 = bool(tickers[:1]) and tickers[0] in query.relevant
        hit_5 = any(t in query.relevant for t in tickers[:5])
        tied = hit_5
        if scores is not None and len(tickers) > 5:
            fifth = scores[n][4]
            tied = any(
                t in query.relevant
                for t, score in zip(tickers, scores[n], strict=True)
                if score >= fifth
            )
        groups.setdefault((query.query_class, query.kind), []).append(
            (hit_1, hit_5, tied, query.elsewhere)
        )
    summaries: list[Recall] = []
    for (query_class, kind), hits in groups.items():
        rest = [h5 for _, h5, _, elsewhere in hits if not elsewhere]
        summaries.append(
            Recall(
                query_class,
                kind,
                len(hits),
                sum(h1 for h1, _, _, _ in hits) / len(hits),
                sum(h5 for _, h5, _, _ in hits) / len(hits),
                None if scores is None else sum(t for _, _, t, _ in hits) / len(hits),
                sum(e for _, _, _, e in hits) / len(hits),
                sum(rest) / len(rest) if rest else None,
            )
        )
    return summaries
