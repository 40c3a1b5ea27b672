"""scripts/extract_listings.py: the benchmark's real listings, from the two sources' own layouts."""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path

import pytest

from tests.search.dataset import LISTINGS
from tests.support.tools import load_script

extract_listings = load_script("extract_listings")

EQUITY_HEADER = (
    "symbol,name,summary,currency,sector,industry_group,industry,exchange,mic,market,country,"
    "state,city,zipcode,website,market_cap,isin,cusip,figi,composite_figi,shareclass_figi,delisted"
)


def _finance_database(root: Path) -> Path:
    equities = root / "database" / "equities"
    etfs = root / "database" / "etfs"
    equities.mkdir(parents=True)
    etfs.mkdir(parents=True)
    (equities / "GER.csv").write_text(
        EQUITY_HEADER + "\n"
        'SAP.DE,SAP  SE,"Software.",EUR,Information Technology,Software & Services,Software,GER,'
        "XETR,XETRA,Germany,,Walldorf,,,Large Cap,,,,,,False\n"
        "OLD.DE,Gone AG,,EUR,,,,GER,,,,,,,,,,,,,,True\n"
        "NONAME.DE,,,EUR,,,,GER,,,,,,,,,,,,,,False\n"
        "WAYTOOLONGTICKER1.DE,Long AG,,EUR,,,,GER,,,,,,,,,,,,,,False\n"
        f"LONG.DE,Long Industry AG,,EUR,{'S' * 120},,{'I' * 120},GER,,,,,,,,Nano Cap,,,,,,False\n",
        encoding="utf-8",
    )
    (etfs / "GER.csv").write_text(
        "symbol,name,currency,summary,category_group,category,family,exchange,mic,isin\n"
        "EXS1.DE,iShares Core DAX UCITS ETF (DE),EUR,,Equities,Large Blend,BlackRock,GER,XETR,\n"
        "SAP.DE,A fund with a taken ticker,EUR,,,,,GER,,\n",
        encoding="utf-8",
    )
    return root


def _us_symbols(root: Path) -> Path:
    rows = {
        "nyse": [{"symbol": "AA", "name": "Alcoa Corporation Common Stock ", "marketCap": "9e9"}],
        "nasdaq": [
            {"symbol": "AAPL", "name": "Apple Inc. Common Stock", "marketCap": "3.9e12"},
            {"symbol": "SAP.DE", "name": "Duplicate", "marketCap": ""},
        ],
        "amex": [{"symbol": "AIB", "name": "AIB Class A Ordinary Shares", "marketCap": "bad"}],
    }
    for exchange, entries in rows.items():
        (root / exchange).mkdir(parents=True)
        (root / exchange / f"{exchange}_full_tickers.json").write_text(json.dumps(entries))
    return root


def _read(path: Path) -> list[dict[str, str]]:
    with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_listings_are_cleaned_deduplicated_and_ordered(tmp_path):
    finance = _finance_database(tmp_path / "fd")
    us = _us_symbols(tmp_path / "us")
    output = tmp_path / "listings.csv.gz"
    argv = [str(finance), "--us-symbols", str(us), "--output", str(output)]
    assert extract_listings.main(argv) == 0
    rows = _read(output)
    assert [(r["ticker"], r["name"], r["kind"], r["size"]) for r in rows] == [
        ("AA", "Alcoa Corporation", "equity", "Mid Cap"),
        ("AAPL", "Apple Inc.", "equity", "Mega Cap"),
        ("AIB", "AIB", "equity", ""),
        ("LONG.DE", "Long Industry AG", "equity", "Nano Cap"),
        ("SAP.DE", "SAP SE", "equity", "Large Cap"),
        ("EXS1.DE", "iShares Core DAX UCITS ETF (DE)", "etf", ""),
    ]
    long = rows[3]
    assert (len(long["sector"]), len(long["industry"])) == (100, 100)
    assert rows[4]["sector"] == "Information Technology"
    assert rows[5]["sector"] == "Equities"


def test_the_same_inputs_give_the_same_bytes(tmp_path):
    finance = _finance_database(tmp_path / "fd")
    first, second = tmp_path / "a.csv.gz", tmp_path / "b.csv.gz"
    extract_listings.main([str(finance), "--output", str(first)])
    extract_listings.main([str(finance), "--output", str(second)])
    assert first.read_bytes() == second.read_bytes()


def test_a_folder_that_is_not_a_checkout_is_refused(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        extract_listings.main([str(tmp_path), "--output", str(tmp_path / "out.csv.gz")])
    assert exit_info.value.code == 2
    assert f"{tmp_path} has no database/equities folder" in capsys.readouterr().err
    assert not (tmp_path / "out.csv.gz").exists()


def test_the_committed_listings_fit_the_stocks_table():
    rows = _read(LISTINGS)
    assert len(rows) == 106_143
    assert len({r["ticker"] for r in rows}) == len(rows)
    assert all(1 <= len(r["ticker"]) <= 16 and 1 <= len(r["name"]) <= 255 for r in rows)
    assert all(len(r["sector"]) <= 100 and len(r["industry"]) <= 100 for r in rows)
    assert {r["kind"] for r in rows} == {"equity", "etf"}
    # Equities first, each kind in ticker order (insert_listings takes a prefix of the file).
    kinds = [r["kind"] for r in rows]
    assert kinds == sorted(kinds, key=lambda k: k != "equity")
