"""Build tests/search/data/listings.csv.gz, the real listings the search benchmark loads.

    .venv/bin/python scripts/extract_listings.py FINANCE_DATABASE_DIR [--us-symbols DIR]

FINANCE_DATABASE_DIR is a checkout of github.com/JerBouma/FinanceDatabase (MIT): its
`database/equities/*.csv` and `database/etfs/*.csv` (one file per exchange, Yahoo-style symbols
such as `SAP.DE`). `--us-symbols` is a checkout of github.com/rreichel3/US-Stock-Symbols, the
NASDAQ screener's lists of NYSE, NASDAQ and NYSE American stocks (`*/<exchange>_full_tickers.json`),
which fill in the US exchanges whose FinanceDatabase files are too large for the mirror we read.

Kept per listing: ticker, name, sector, industry, exchange, kind (equity or etf) and size (the
market-capitalisation class, FinanceDatabase's "Mega Cap" ... "Nano Cap", or computed from the
NASDAQ list's market cap with the same bounds). Descriptions are left out (they would make the
file 30 MB). Delisted rows, rows without a name and tickers longer than the application's
varchar(16) are dropped, longer texts cut to its column widths; a ticker seen twice keeps its
first row (equities before ETFs, and FinanceDatabase before the US lists). Rows are sorted by
kind then ticker and the gzip header has no name or timestamp, so the same inputs give the same
bytes.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import re
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "tests" / "search" / "data" / "listings.csv.gz"
COLUMNS = ("ticker", "name", "sector", "industry", "exchange", "kind", "size")

# FinanceDatabase's classes; the bounds (USD) are the usual ones, which its README uses too.
SIZES: tuple[tuple[float, str], ...] = (
    (200e9, "Mega Cap"),
    (10e9, "Large Cap"),
    (2e9, "Mid Cap"),
    (300e6, "Small Cap"),
    (50e6, "Micro Cap"),
    (0.0, "Nano Cap"),
)

# The NASDAQ screener appends the security type to every name ("Alcoa Corporation Common Stock").
_US_SECURITY_TYPE = re.compile(
    r"\s+(class [a-z] )?(common stock|common shares|ordinary shares)\b.*$", re.IGNORECASE
)


def _clean(text: str) -> str:
    return " ".join(text.split())


def size_class(market_cap: float) -> str:
    """The market-capitalisation class of `market_cap` (USD); "" when it is unknown (0)."""
    if market_cap <= 0:
        return ""
    return next(label for bound, label in SIZES if market_cap >= bound)


def finance_database(directory: Path, kind: str) -> Iterator[dict[str, str]]:
    folder = directory / "database" / ("equities" if kind == "equity" else "etfs")
    for path in sorted(folder.glob("*.csv")):
        with path.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                if row.get("delisted") == "True":
                    continue
                yield {
                    "ticker": row["symbol"].strip(),
                    "name": _clean(row["name"]),
                    "sector": _clean(row.get("sector") or row.get("category_group") or ""),
                    "industry": _clean(row.get("industry") or row.get("category") or ""),
                    "exchange": _clean(row.get("exchange") or ""),
                    "kind": kind,
                    "size": _clean(row.get("market_cap") or ""),
                }


def us_symbols(directory: Path) -> Iterator[dict[str, str]]:
    for exchange in ("nyse", "nasdaq", "amex"):
        path = directory / exchange / f"{exchange}_full_tickers.json"
        for row in json.loads(path.read_text(encoding="utf-8")):
            try:
                market_cap = float(row.get("marketCap") or 0)
            except ValueError:
                market_cap = 0.0
            yield {
                "ticker": row["symbol"].strip(),
                "name": _clean(_US_SECURITY_TYPE.sub("", row["name"])),
                "sector": _clean(row.get("sector") or ""),
                "industry": _clean(row.get("industry") or ""),
                "exchange": exchange.upper(),
                "kind": "equity",
                "size": size_class(market_cap),
            }


def listings(finance_dir: Path, us_dir: Path | None) -> list[dict[str, str]]:
    sources = [finance_database(finance_dir, "equity")]
    if us_dir is not None:
        sources.append(us_symbols(us_dir))
    sources.append(finance_database(finance_dir, "etf"))
    seen: set[str] = set()
    kept: list[dict[str, str]] = []
    for source in sources:
        for row in source:
            ticker = row["ticker"]
            if not ticker or len(ticker) > 16 or not row["name"] or ticker in seen:
                continue
            seen.add(ticker)
            # The application's column widths: varchar(255), (100), (100), (32).
            for column, width in (
                ("name", 255),
                ("sector", 100),
                ("industry", 100),
                ("exchange", 32),
            ):
                row[column] = row[column][:width].rstrip()
            kept.append(row)
    kept.sort(key=lambda r: (r["kind"] != "equity", r["ticker"]))
    return kept


def write(rows: Sequence[dict[str, str]], output: Path) -> None:
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    output.parent.mkdir(parents=True, exist_ok=True)
    with (
        output.open("wb") as raw,
        gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0) as packed,
    ):
        packed.write(text.getvalue().encode("utf-8"))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("finance_database", type=Path, help="a FinanceDatabase checkout")
    parser.add_argument("--us-symbols", type=Path, help="a US-Stock-Symbols checkout")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    if not (args.finance_database / "database" / "equities").is_dir():
        parser.error(f"{args.finance_database} has no database/equities folder")
    rows = listings(args.finance_database, args.us_symbols)
    write(rows, args.output)
    kinds = {kind: sum(r["kind"] == kind for r in rows) for kind in ("equity", "etf")}
    print(f"{args.output}: {kinds['equity']:,} equities, {kinds['etf']:,} ETFs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
