"""The platform scenario: which endpoints a load test requests, how often, with which queries.

Paths and parameters are the backend's (docs/SEARCH.md): `/api/stocks/search?q=` runs the
full-text `search_stocks()` and, only when that finds nothing, `fuzzy_search_stocks()`. There is
no separate fuzzy route, so "fuzzy search" is the same path with queries that full-text misses
(typos), reported apart because it costs more. Queries and tickers are the real companies of the
search tests' data set (tests/search/dataset.py), copied: nothing here imports tests/.

The plan is deterministic: endpoints are interleaved by smooth weighted round-robin, so every
window of `sum(weights)` requests holds each endpoint exactly `weight` times, and each endpoint
takes its queries in turn. A bounded run of N requests therefore sends known counts per endpoint.
Pure data and iteration: the Locust user that plays the plan is in `runner.py`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from urllib.parse import quote

# Full-text hits, as users type them: tickers in either case, brand names with and without their
# accents, two-letter and three-to-four-letter type-ahead, several words, sector words.
SEARCH_QUERIES: tuple[str, ...] = (
    "AAPL",
    "apple",
    "msft",
    "Microsoft",
    "appl",
    "nvidia",
    "Nestlé",
    "nestle",
    "societe generale",
    "L'Oréal",
    "ba",
    "bank",
    "hermes",
    "semiconductor",
    "BRK.B",
    "berkshire",
    "JPMorgan",
    "cloud computing",
    "santander",
    "siem",
    "Münchener Rück",
    "TSLA",
    "coca-cola",
    "asml",
)

# Typos full-text finds nothing for, so the backend falls back to fuzzy_search_stocks(): swapped,
# dropped, doubled or wrong letters in names and tickers, a missing apostrophe, a split word.
FUZZY_QUERIES: tuple[str, ...] = (
    "Microsfot",
    "mircosoft",
    "nvidea",
    "sociate generale",
    "contintental",
    "berkshire hathway",
    "loreal",
    "nestel",
    "siemems",
    "novratis",
    "santnader",
    "telsa",
    "jp morgan",
    "ericson",
    "amazn",
    "alphabte",
)

TICKERS: tuple[str, ...] = (
    "AAPL",
    "MSFT",
    "NVDA",
    "GOOGL",
    "AMZN",
    "NESN",
    "OR",
    "GLE",
    "RMS",
    "CON",
    "MC",
    "NOVN",
    "TTE",
    "SAN",
    "ENEL",
    "NOKIA",
    "ERIC",
    "JPM",
    "BRK.B",
    "SIE",
    "MUV2",
    "TSLA",
    "KO",
    "ASML",
)


@dataclass(frozen=True)
class Endpoint:
    """One kind of request and its share of the load."""

    name: str
    """The row in the report (Locust's request name)."""
    weight: int
    """Requests of this kind per `sum(weights)` requests."""
    template: str
    """The path; `{}` takes the next value, percent-encoded. Without values, the path as is."""
    values: tuple[str, ...] = ()
    """Query strings or path segments, used in turn."""

    def path(self, index: int) -> str:
        """The path of this endpoint's `index`-th request (0-based)."""
        if not self.values:
            return self.template
        return self.template.format(quote(self.values[index % len(self.values)], safe=""))


# Search dominates (type-ahead sends one per pause in typing), a share of searches open a stock,
# typos fall through to fuzzy, and health is the monitoring probes' share.
PLATFORM: tuple[Endpoint, ...] = (
    Endpoint("search", 10, "/api/stocks/search?q={}", SEARCH_QUERIES),
    Endpoint("stock detail", 6, "/api/stocks/{}", TICKERS),
    Endpoint("fuzzy search", 3, "/api/stocks/search?q={}", FUZZY_QUERIES),
    Endpoint("health", 1, "/api/health"),
)


def single_url(path: str) -> tuple[Endpoint, ...]:
    """The scenario of the single-URL mode: one path, named after itself."""
    return (Endpoint(path, 1, path),)


def weighted_order(weights: Sequence[int]) -> list[int]:
    """One period of smooth weighted round-robin (nginx's): indexes into `weights`, each index
    `weight` times, spread out instead of in runs; ties go to the earlier index."""
    if not weights or any(weight < 1 for weight in weights):
        raise ValueError(f"weights must be whole numbers of at least 1, got {list(weights)}")
    total = sum(weights)
    current = [0] * len(weights)
    order = []
    for _ in range(total):
        for i, weight in enumerate(weights):
            current[i] += weight
        chosen = max(range(len(weights)), key=lambda i: current[i])
        current[chosen] -= total
        order.append(chosen)
    return order


@dataclass(frozen=True)
class Request:
    """One planned request."""

    name: str
    path: str


class Plan(Iterator[Request]):
    """The requests of a run, in order: `total` of them, or endless until `close()`.

    Shared by every user of a run; `next()` never yields (no I/O), so under gevent each request is
    handed out exactly once without a lock.
    """

    def __init__(self, endpoints: Sequence[Endpoint], total: int | None) -> None:
        self.endpoints = tuple(endpoints)
        self.total = total
        self.issued = 0
        self._order = weighted_order([endpoint.weight for endpoint in self.endpoints])
        self._per_endpoint = [0] * len(self.endpoints)
        self._closed = False

    def __next__(self) -> Request:
        if self._closed or (self.total is not None and self.issued >= self.total):
            raise StopIteration
        index = self._order[self.issued % len(self._order)]
        endpoint = self.endpoints[index]
        request = Request(endpoint.name, endpoint.path(self._per_endpoint[index]))
        self._per_endpoint[index] += 1
        self.issued += 1
        return request

    def close(self) -> None:
        """Hand out no more requests (the end of a timed run)."""
        self._closed = True

    @property
    def exhausted(self) -> bool:
        return self._closed or (self.total is not None and self.issued >= self.total)
