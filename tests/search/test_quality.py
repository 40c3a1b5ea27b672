"""The search-quality query generator and recall arithmetic (search/quality.py), no server."""

from __future__ import annotations

import random
import re

import pytest

from search import quality
from search.quality import Query, Recall, Stock


def test_keyboard_neighbours_are_the_touching_keys():
    assert quality.KEYBOARD_NEIGHBOURS["s"] == "adewxz"
    assert quality.KEYBOARD_NEIGHBOURS["q"] == "12aw"
    assert quality.KEYBOARD_NEIGHBOURS["m"] == "jkn"
    assert quality.KEYBOARD_NEIGHBOURS["5"] == "46rt"
    # Touching is symmetric.
    for key, near in quality.KEYBOARD_NEIGHBOURS.items():
        for other in near:
            assert key in quality.KEYBOARD_NEIGHBOURS[other], (key, other)


def test_terms_are_the_alphanumeric_words():
    assert quality.terms("societe generale s.a.") == ("societe", "generale", "s", "a")
    assert quality.terms("BRK.B") == ("brk", "b")
    assert quality.terms("  --  ") == ()


def _levenshtein_with_transpositions(a: str, b: str) -> int:
    """Optimal string alignment distance, the oracle for one edit."""
    d = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) + 1):
        d[i][0] = i
    for j in range(len(b) + 1):
        d[0][j] = j
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[len(a)][len(b)]


@pytest.mark.parametrize("kind", quality.EDIT_KINDS)
def test_every_edit_is_exactly_one_edit_of_its_kind(kind):
    rng = random.Random(7)
    for word in ("microsoft", "msft", "kalemo", "nestle", "allianz"):
        for _ in range(50):
            typo = quality.edit(word, kind, rng)
            assert typo != word
            assert _levenshtein_with_transpositions(word, typo) == 1, (word, typo)
            expected_length = {"deletion": -1, "insertion": 1}.get(kind, 0)
            assert len(typo) - len(word) == expected_length


def test_edits_reach_every_position():
    rng = random.Random(1)
    firsts = {quality.edit("abcdef", "deletion", rng) for _ in range(300)}
    assert firsts == {"bcdef", "acdef", "abdef", "abcef", "abcdf", "abcde"}
    swaps = {quality.edit("abcdef", "transposition", rng) for _ in range(300)}
    assert swaps == {"bacdef", "acbdef", "abdcef", "abcedf", "abcdfe"}


def test_substitutions_and_insertions_use_neighbouring_keys():
    rng = random.Random(3)
    for _ in range(200):
        typo = quality.edit("s", "substitution", rng)
        assert typo in set(quality.KEYBOARD_NEIGHBOURS["s"])
        inserted = quality.edit("s", "insertion", rng)
        assert len(inserted) == 2
        assert "s" in inserted
        assert set(inserted) <= set("s" + quality.KEYBOARD_NEIGHBOURS["s"])


@pytest.mark.parametrize(
    ("word", "kind", "message"),
    [
        ("a", "deletion", "cannot delete a letter of 'a': too short"),
        ("aa", "transposition", "cannot swap two different adjacent letters of 'aa'"),
        ("", "insertion", "cannot insertion into an empty word"),
        ("é", "substitution", "no neighbouring key for 'é' in 'é'"),
        (
            "abc",
            "swap",
            "unknown edit kind 'swap': expected one of deletion, insertion, "
            "substitution, transposition",
        ),
    ],
)
def test_impossible_edits_are_refused(word, kind, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        quality.edit(word, kind, random.Random(0))


STOCKS = [
    Stock("KALM", "kalemo holdings inc."),
    Stock("KALX", "kalemo systems ag"),
    Stock("VANA", "vanane holdings"),
    Stock("BAC", "bank of america corporation"),
    Stock("AAPL", "apple inc."),
    Stock("BRK.B", "berkshire hathaway inc."),
]


def test_queries_are_deterministic_and_cover_every_class_and_kind():
    first = quality.build_queries(STOCKS, per_kind=4, seed=5, phrases=["bank of america"])
    again = quality.build_queries(STOCKS, per_kind=4, seed=5, phrases=["bank of america"])
    other = quality.build_queries(STOCKS, per_kind=4, seed=6, phrases=["bank of america"])
    assert first == again
    assert first != other
    kinds = {(q.query_class, q.kind) for q in first}
    assert kinds == {
        *(("name word", k) for k in ("exact", *quality.EDIT_KINDS)),
        *(("ticker", k) for k in ("exact", *quality.EDIT_KINDS)),
        ("multi-word", "exact"),
        ("multi-word", "one typo"),
        ("prefix", "prefix"),
    }


def test_relevant_stocks_are_all_that_share_the_word():
    queries = quality.build_queries(STOCKS, per_kind=20, seed=5)
    kalemo = [q for q in queries if q.query_class == "name word" and q.kind == "exact"]
    relevant = {q.text: q.relevant for q in kalemo}
    # A brand two stocks share counts for both.
    assert relevant["kalemo"] == frozenset({"KALM", "KALX"})
    assert relevant["vanane"] == frozenset({"VANA"})
    assert "inc" not in relevant  # under five letters
    tickers = {q.text for q in queries if q.query_class == "ticker" and q.kind == "exact"}
    # Drawn from these four (BAC is too short, BRK.B has punctuation), one query per ticker.
    assert tickers <= {"kalm", "kalx", "vana", "aapl"}
    assert len([q for q in queries if q.query_class == "ticker" and q.kind == "exact"]) == 4


def test_common_words_are_not_asked_for_alone():
    queries = quality.build_queries(STOCKS, per_kind=20, seed=5, max_relevant=1)
    words = {q.text for q in queries if q.query_class == "name word" and q.kind == "exact"}
    assert "kalemo" not in words  # two stocks have it
    assert "vanane" in words


def test_multi_word_queries_need_every_word():
    queries = quality.build_queries(
        STOCKS, per_kind=0, seed=5, phrases=["bank of america", "kalemo systems", "no such co"]
    )
    multi = {(q.text, q.kind): q.relevant for q in queries if q.query_class == "multi-word"}
    assert multi[("bank of america", "exact")] == frozenset({"BAC"})
    assert multi[("kalemo systems", "exact")] == frozenset({"KALX"})
    assert ("no such co", "exact") not in multi  # nothing to find
    typos = [text for text, kind in multi if kind == "one typo"]
    assert len(typos) == 2
    assert any(t.startswith("bank of ") and t != "bank of america" for t in typos)


def test_real_companies_get_classes_of_their_own():
    queries = quality.build_queries(STOCKS, per_kind=3, seed=5, real=frozenset({"AAPL", "BAC"}))
    real = {(q.query_class, q.text) for q in queries if q.kind == "exact"}
    assert ("name word (real)", "apple") in real
    assert ("ticker (real)", "aapl") in real
    assert not any(c.endswith("(real)") and t == "kalemo" for c, t in real)


def test_recall_at_one_and_five():
    queries = [
        Query("a", "c", "k", frozenset({"X"})),
        Query("b", "c", "k", frozenset({"X", "Y"})),
        Query("c", "c", "k", frozenset({"X"})),
        Query("d", "other", "k", frozenset({"X"})),
    ]
    results = [["X"], ["Z", "A", "B", "C", "Y"], ["A", "B", "C", "D", "E", "X"], []]
    assert quality.recall(queries, results) == [
        Recall("c", "k", 3, 1 / 3, 2 / 3, None, 0.0, 2 / 3),
        Recall("other", "k", 1, 0.0, 0.0, None, 0.0, 0.0),
    ]
    with pytest.raises(ValueError, match=r"^4 queries but 3 result lists$"):
        quality.recall(queries, results[:3])


def test_recall_at_five_including_ties():
    queries = [Query("a", "c", "k", frozenset({"X"})), Query("b", "c", "k", frozenset({"X"}))]
    results = [["A", "B", "C", "D", "E", "X", "F"], ["A", "B", "C", "D", "E", "X"]]
    scores = [[0.9, 0.8, 0.7, 0.6, 0.5, 0.5, 0.5], [0.9, 0.8, 0.7, 0.6, 0.5, 0.4]]
    # X is sixth both times; tied with the fifth only in the first.
    assert quality.recall(queries, results, scores) == [
        Recall("c", "k", 2, 0.0, 0.0, 0.5, 0.0, 0.0)
    ]
    with pytest.raises(ValueError, match=r"^scores must have one value per result$"):
        quality.recall(queries, results, [[0.9], [0.9]])


def test_a_typo_that_spells_another_stocks_word_is_counted_apart():
    # Every deletion of ABCD's ticker is another stock's ticker; no swap of it is.
    others = [Stock(t, f"company {t.lower()}") for t in ("BCD", "ACD", "ABD", "ABC")]
    stocks = [Stock("ABCD", "alphabet soup"), *others]
    queries = quality.build_queries(stocks, per_kind=5, seed=11)
    queries = [q for q in queries if "ABCD" in q.relevant]
    kinds = {(q.query_class, q.kind): q for q in queries}
    assert kinds[("ticker", "deletion")].elsewhere is True
    assert kinds[("ticker", "deletion")].text in {"bcd", "acd", "abd", "abc"}
    assert kinds[("ticker", "transposition")].elsewhere is False
    assert kinds[("ticker", "exact")].elsewhere is False
    assert all(not q.elsewhere for q in queries if q.query_class == "multi-word")

    typo = Query("abc", "ticker", "deletion", frozenset({"ABCD"}), elsewhere=True)
    swap = Query("bacd", "ticker", "transposition", frozenset({"ABCD"}))
    summary = quality.recall([typo, swap], [["ABC", "X", "Y", "Z", "W", "ABCD"], ["ABCD"]])
    assert summary == [
        Recall("ticker", "deletion", 1, 0.0, 0.0, None, 1.0, None),
        Recall("ticker", "transposition", 1, 1.0, 1.0, None, 0.0, 1.0),
    ]
