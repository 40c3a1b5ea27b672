"""Realistic stock data for the search tests and the benchmark.

`REAL_STOCKS`: real companies, with the accents and punctuation of their legal names.
`insert_listings(conn, n)`: up to n of the 106,143 real listings in `data/listings.csv.gz`
(equities of 80 exchanges, then ETFs), for the benchmark's realistic dataset.
`synthetic_stocks_sql(n)`: one INSERT ... SELECT over generate_series that adds n plausible stocks
(a syllable-built brand, maybe a common word, a legal suffix; 4-to-5-letter tickers, GICS
sectors and industries, descriptions of 14-24 words) in a few seconds, deterministically.
"""

from __future__ import annotations

import csv
import gzip
from pathlib import Path

import psycopg

# Real listings (scripts/extract_listings.py: FinanceDatabase's equities and ETFs, plus the
# NASDAQ screener's NYSE, NASDAQ and NYSE American lists), equities first, then ETFs.
LISTINGS = Path(__file__).resolve().parent / "data" / "listings.csv.gz"

# The application's own table, as its migrations create it (search adds a column and indexes).
STOCKS_TABLE_DDL = """
CREATE TABLE public.stocks (
    id bigserial PRIMARY KEY,
    ticker varchar(16) NOT NULL UNIQUE,
    name varchar(255) NOT NULL,
    description text,
    sector varchar(100),
    industry varchar(100),
    exchange varchar(32),
    country char(2)
)
"""

# ticker, name, sector, industry, exchange, country, description
REAL_STOCKS: tuple[tuple[str, str, str, str, str, str, str], ...] = (
    (
        "AAPL",
        "Apple Inc.",
        "Information Technology",
        "Technology Hardware",
        "NASDAQ",
        "US",
        "Designs, manufactures and markets smartphones, personal computers, tablets, wearables and "
        "accessories, and sells a variety of related services.",
    ),
    (
        "APLE",
        "Apple Hospitality REIT, Inc.",
        "Real Estate",
        "Hotel & Resort REITs",
        "NYSE",
        "US",
        "Real estate investment trust that owns upscale, rooms-focused hotels in the "
        "United States.",
    ),
    (
        "MSFT",
        "Microsoft Corporation",
        "Information Technology",
        "Systems Software",
        "NASDAQ",
        "US",
        "Develops and supports software, services, devices and solutions, including "
        "Windows, Office "
        "and the Azure cloud computing platform.",
    ),
    (
        "GOOGL",
        "Alphabet Inc.",
        "Communication Services",
        "Interactive Media & Services",
        "NASDAQ",
        "US",
        "Holding company of Google: search, advertising, YouTube, Android and cloud services.",
    ),
    (
        "AMZN",
        "Amazon.com, Inc.",
        "Consumer Discretionary",
        "Broadline Retail",
        "NASDAQ",
        "US",
        "Online retail, marketplace, logistics and the Amazon Web Services cloud "
        "computing business.",
    ),
    (
        "NVDA",
        "NVIDIA Corporation",
        "Information Technology",
        "Semiconductors",
        "NASDAQ",
        "US",
        "Graphics processors and accelerated computing platforms for gaming, data centers and "
        "artificial intelligence.",
    ),
    (
        "NESN",
        "Nestlé S.A.",
        "Consumer Staples",
        "Packaged Foods & Meats",
        "SIX",
        "CH",
        "The world's largest food and beverage company: coffee, pet care, nutrition and water.",
    ),
    (
        "OR",
        "L'Oréal S.A.",
        "Consumer Staples",
        "Personal Care Products",
        "Euronext Paris",
        "FR",
        "Cosmetics and beauty company: skin care, make-up, hair colour and fragrances.",
    ),
    (
        "GLE",
        "Société Générale S.A.",
        "Financials",
        "Diversified Banks",
        "Euronext Paris",
        "FR",
        "French multinational bank offering retail banking, investment banking and asset "
        "management.",
    ),
    (
        "RMS",
        "Hermès International",
        "Consumer Discretionary",
        "Apparel, Accessories & Luxury Goods",
        "Euronext Paris",
        "FR",
        "Luxury goods maker known for leather handbags, silk scarves and ready-to-wear.",
    ),
    (
        "CON",
        "Continental AG",
        "Consumer Discretionary",
        "Automotive Parts & Equipment",
        "XETRA",
        "DE",
        "Tyres, brake systems, automotive electronics and industrial rubber products.",
    ),
    (
        "MC",
        "LVMH Moët Hennessy Louis Vuitton SE",
        "Consumer Discretionary",
        "Apparel, Accessories & Luxury Goods",
        "Euronext Paris",
        "FR",
        "Luxury group: fashion and leather goods, wines and spirits, perfumes and jewellery.",
    ),
    (
        "NOVN",
        "Novartis AG",
        "Health Care",
        "Pharmaceuticals",
        "SIX",
        "CH",
        "Innovative medicines in oncology, immunology, neuroscience and cardiovascular disease.",
    ),
    (
        "DANOY",
        "Danone S.A.",
        "Consumer Staples",
        "Packaged Foods & Meats",
        "Euronext Paris",
        "FR",
        "Dairy, plant-based products, specialised nutrition and bottled water.",
    ),
    (
        "TTE",
        "TotalEnergies SE",
        "Energy",
        "Integrated Oil & Gas",
        "Euronext Paris",
        "FR",
        "Integrated energy company producing oil, natural gas, electricity and renewables.",
    ),
    (
        "SAN",
        "Banco Santander, S.A.",
        "Financials",
        "Diversified Banks",
        "BME",
        "ES",
        "Spanish retail and commercial bank with operations in Europe and the Americas.",
    ),
    (
        "ENEL",
        "Enel S.p.A.",
        "Utilities",
        "Electric Utilities",
        "Borsa Italiana",
        "IT",
        "Multinational producer and distributor of electricity and gas, with a large "
        "renewables fleet.",
    ),
    (
        "NOKIA",
        "Nokia Oyj",
        "Information Technology",
        "Communications Equipment",
        "Nasdaq Helsinki",
        "FI",
        "Mobile, fixed and cloud network infrastructure and technology licensing.",
    ),
    (
        "ERIC",
        "Telefonaktiebolaget LM Ericsson",
        "Information Technology",
        "Communications Equipment",
        "NASDAQ",
        "SE",
        "Telecommunications equipment and 5G network services for mobile operators.",
    ),
    (
        "JPM",
        "JPMorgan Chase & Co.",
        "Financials",
        "Diversified Banks",
        "NYSE",
        "US",
        "Global financial services firm: investment banking, consumer banking and asset "
        "management.",
    ),
    (
        "ALL",
        "The Allstate Corporation",
        "Financials",
        "Property & Casualty Insurance",
        "NYSE",
        "US",
        "Personal property and casualty insurance: car, home and life.",
    ),
    (
        "ON",
        "ON Semiconductor Corporation",
        "Information Technology",
        "Semiconductors",
        "NASDAQ",
        "US",
        "Power and sensing semiconductors for automotive and industrial markets.",
    ),
    (
        "BRK.B",
        "Berkshire Hathaway Inc.",
        "Financials",
        "Multi-Sector Holdings",
        "NYSE",
        "US",
        "Conglomerate holding company: insurance, railroads, utilities and manufacturing.",
    ),
    (
        "SIE",
        "Siemens Aktiengesellschaft",
        "Industrials",
        "Industrial Conglomerates",
        "XETRA",
        "DE",
        "Automation, digitalisation, smart infrastructure and mobility technology.",
    ),
    (
        "MUV2",
        "Münchener Rückversicherungs-Gesellschaft AG",
        "Financials",
        "Reinsurance",
        "XETRA",
        "DE",
        "Munich Re: one of the world's leading reinsurers.",
    ),
    (
        "TSLA",
        "Tesla, Inc.",
        "Consumer Discretionary",
        "Automobile Manufacturers",
        "NASDAQ",
        "US",
        "Electric vehicles, battery energy storage and solar products.",
    ),
    (
        "KO",
        "The Coca-Cola Company",
        "Consumer Staples",
        "Soft Drinks & Non-alcoholic Beverages",
        "NYSE",
        "US",
        "Beverage company selling sparkling soft drinks, water, coffee and juices.",
    ),
    (
        "ASML",
        "ASML Holding N.V.",
        "Information Technology",
        "Semiconductor Equipment",
        "NASDAQ",
        "NL",
        "Lithography systems used to manufacture semiconductors.",
    ),
)


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# Real company names are mostly a distinctive brand word plus common words; brands are built from
# syllables (some accented, as in European names), the common words are the usual ones.
_BRAND_SYLLABLES = _words(
    "al ar ba be bo ca ce co da de do el en fa fe fi ga ge go ha he in ka ke ki la le li lo ma me "
    "mi mo na ne no or pa pe po ra re ri ro sa se si so ta te ti to va ve vi vo xa ze zu "
    "bé dé lé ré mü kö jø gå ño çi"
)
_COMMON_WORDS = _words(
    "Global United American European Asian Continental National International General Standard "
    "Royal Federal Pacific Atlantic Nordic Alpine Northern Southern Eastern Western Central Metro "
    "First Premier Summit Pioneer Frontier Heritage Liberty Sterling Golden Silver Digital Micro "
    "Bio Solar Power Energy Oil Gas Mining Metals Chemicals Materials Foods Beverages Pharma "
    "Medical Health Therapeutics Diagnostics Systems Networks Software Semiconductors Robotics "
    "Motors Automotive Aviation Shipping Logistics Transport Telecom Media Entertainment Retail "
    "Brands Apparel Hotels Resorts Realty Properties Capital Financial Bank Bancorp Insurance "
    "Trust Investments Partners Ventures Industries Holdings Group Technologies Solutions "
    "Services Labs Dynamics Instruments Electronics Biosciences Société Générale Crédit Banque "
    "Compagnie Française Gruppe Energía Eléctrica Industrias Café Hôtel"
)
_SUFFIXES = _words(
    "Inc. Corporation Corp. Co. Ltd. plc AG SE S.A. N.V. S.p.A. Oyj AB ASA GmbH Holdings Group "
    "Limited LLC Trust"
)
_SECTORS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "Information Technology",
        (
            "Software",
            "Semiconductors",
            "IT Services",
            "Technology Hardware",
            "Communications Equipment",
        ),
    ),
    (
        "Health Care",
        (
            "Pharmaceuticals",
            "Biotechnology",
            "Health Care Equipment",
            "Health Care Providers",
            "Life Sciences Tools",
        ),
    ),
    (
        "Financials",
        (
            "Diversified Banks",
            "Regional Banks",
            "Insurance",
            "Asset Management",
            "Consumer Finance",
        ),
    ),
    (
        "Consumer Discretionary",
        (
            "Automobiles",
            "Hotels & Restaurants",
            "Specialty Retail",
            "Apparel & Luxury Goods",
            "Household Durables",
        ),
    ),
    (
        "Consumer Staples",
        (
            "Packaged Foods",
            "Beverages",
            "Household Products",
            "Personal Care Products",
            "Food Retail",
        ),
    ),
    (
        "Industrials",
        (
            "Aerospace & Defense",
            "Machinery",
            "Air Freight & Logistics",
            "Construction & Engineering",
            "Electrical Equipment",
        ),
    ),
    (
        "Energy",
        (
            "Oil & Gas Exploration",
            "Integrated Oil & Gas",
            "Oil & Gas Equipment",
            "Coal & Consumable Fuels",
            "Oil & Gas Refining",
        ),
    ),
    (
        "Materials",
        (
            "Chemicals",
            "Metals & Mining",
            "Construction Materials",
            "Paper Products",
            "Containers & Packaging",
        ),
    ),
    (
        "Utilities",
        (
            "Electric Utilities",
            "Gas Utilities",
            "Water Utilities",
            "Renewable Electricity",
            "Multi-Utilities",
        ),
    ),
    (
        "Real Estate",
        (
            "Office REITs",
            "Residential REITs",
            "Industrial REITs",
            "Retail REITs",
            "Real Estate Services",
        ),
    ),
    (
        "Communication Services",
        ("Telecom Services", "Media", "Entertainment", "Interactive Media", "Advertising"),
    ),
)
_DESCRIPTION_WORDS = _words(
    "designs manufactures markets sells distributes develops operates provides offers produces "
    "builds supplies licenses services maintains invests acquires explores refines transports "
    "stores retails leases finances insures underwrites advises manages researches "
    "software hardware semiconductors chips processors memory storage networking servers cloud "
    "computing platforms applications subscriptions payments banking loans mortgages deposits "
    "insurance reinsurance annuities pensions funds brokerage trading advisory wealth "
    "medicines vaccines therapies diagnostics devices implants hospitals clinics laboratories "
    "oncology cardiology neurology immunology vehicles trucks engines batteries tyres brakes "
    "aircraft satellites ships railways pipelines terminals warehouses ports airports "
    "electricity renewables wind solar hydro nuclear natural gas crude oil coal copper gold "
    "lithium iron steel aluminium chemicals fertilisers plastics packaging paper cement "
    "beverages coffee dairy snacks confectionery cosmetics fragrances apparel footwear luxury "
    "jewellery watches furniture appliances restaurants hotels resorts casinos cruises "
    "television streaming music games advertising publishing telecommunications broadband "
    "wireless fibre towers offices apartments shopping centres logistics data centres "
    "consumers businesses governments hospitals utilities manufacturers retailers developers "
    "worldwide internationally domestically across europe america asia africa latin "
    "through subsidiaries segments brands partners franchises stores online digital channels"
)


def _sql_array(words: tuple[str, ...] | list[str]) -> str:
    quoted = ", ".join("'" + w.replace("'", "''") + "'" for w in words)
    return f"ARRAY[{quoted}]::text[]"


def synthetic_stocks_sql(count: int) -> str:
    """An INSERT ... SELECT adding `count` synthetic stocks with unique tickers.

    Tickers are a scrambled base-26 encoding of the row number (unique: 4 letters up to 456,976
    rows, then 5); the few that equal a real stock's ticker are skipped (ON CONFLICT DO NOTHING).
    """
    sectors = [s for s, _ in _SECTORS]
    industries = [i for _, inds in _SECTORS for i in inds]
    return f"""
WITH words AS (
    SELECT {_sql_array(list(_BRAND_SYLLABLES))} AS syllables,
           {_sql_array(list(_COMMON_WORDS))} AS common,
           {_sql_array(list(_SUFFIXES))} AS suffixes,
           {_sql_array(sectors)} AS sectors,
           {_sql_array(industries)} AS industries,
           {_sql_array(list(_DESCRIPTION_WORDS))} AS description_words
), rows AS (
    SELECT g AS i, (g::bigint * 7919 + 104729) % 456976 AS code,
           abs(hashint4(g)) AS h1, abs(hashint4(g + 1000003)) AS h2,
           abs(hashint4(g + 2000003)) AS h3
    FROM generate_series(1, {int(count)}) AS g
)
INSERT INTO public.stocks (ticker, name, description, sector, industry, exchange, country)
SELECT
    chr(65 + (code / 17576)::int % 26) || chr(65 + (code / 676)::int % 26)
        || chr(65 + (code / 26)::int % 26) || chr(65 + code::int % 26)
        || CASE WHEN i > 456976 THEN chr(65 + (i / 456976) % 26) ELSE '' END,
    initcap(w.syllables[1 + h1 % cardinality(w.syllables)]
        || w.syllables[1 + h2 % cardinality(w.syllables)]
        || w.syllables[1 + h3 % cardinality(w.syllables)]
        || CASE WHEN h1 % 3 = 0
                THEN w.syllables[1 + (h1 / 97) % cardinality(w.syllables)] ELSE '' END)
        || CASE WHEN h2 % 2 = 0
                THEN ' ' || w.common[1 + (h2 / 13) % cardinality(w.common)] ELSE '' END
        || ' ' || w.suffixes[1 + h3 % cardinality(w.suffixes)],
    (SELECT string_agg(
         w.description_words[1 + abs(hashint4(i * 31 + k)) % cardinality(w.description_words)], ' ')
     FROM generate_series(1, 14 + h1 % 11) AS k),
    w.sectors[1 + (h2 / 7) % cardinality(w.sectors)],
    w.industries[1 + ((h2 / 7) % cardinality(w.sectors)) * 5 + (h3 / 11) % 5],
    (ARRAY['NYSE', 'NASDAQ', 'XETRA', 'Euronext Paris', 'LSE', 'SIX'])[1 + h3 % 6],
    (ARRAY['US', 'US', 'DE', 'FR', 'GB', 'CH'])[1 + h3 % 6]
FROM rows, words AS w
ON CONFLICT (ticker) DO NOTHING
"""


def create_stocks_table(conn: psycopg.Connection) -> None:
    """Create the application's stocks table, as the application's own migrations do."""
    conn.execute(STOCKS_TABLE_DDL)


def insert_real_stocks(conn: psycopg.Connection) -> None:
    conn.cursor().executemany(
        "INSERT INTO public.stocks (ticker, name, sector, industry, exchange, country, description)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s)",
        REAL_STOCKS,
    )


# More real companies (ticker, legal name) for the search-quality benchmark only, so that the
# tests' expectations on REAL_STOCKS stay as they are. Several share words ("deutsche",
# "general", "group"), as real names do.
MORE_REAL_STOCKS: tuple[tuple[str, str], ...] = (
    ("DTE", "Deutsche Telekom AG"),
    ("DBK", "Deutsche Bank AG"),
    ("DHL", "Deutsche Post AG"),
    ("BAC", "Bank of America Corporation"),
    ("VOW3", "Volkswagen AG"),
    ("BAS", "BASF SE"),
    ("BAYN", "Bayer Aktiengesellschaft"),
    ("ALV", "Allianz SE"),
    ("SAP", "SAP SE"),
    ("MBG", "Mercedes-Benz Group AG"),
    ("BMW", "Bayerische Motoren Werke Aktiengesellschaft"),
    ("ADS", "adidas AG"),
    ("ULVR", "Unilever PLC"),
    ("HSBA", "HSBC Holdings plc"),
    ("SHEL", "Shell plc"),
    ("AZN", "AstraZeneca PLC"),
    ("VOD", "Vodafone Group Public Limited Company"),
    ("BARC", "Barclays PLC"),
    ("ROG", "Roche Holding AG"),
    ("UBSG", "UBS Group AG"),
    ("ZURN", "Zurich Insurance Group AG"),
    ("AIR", "Airbus SE"),
    ("SNY", "Sanofi"),
    ("BNP", "BNP Paribas SA"),
    ("SU", "Schneider Electric SE"),
    ("IBE", "Iberdrola, S.A."),
    ("TEF", "Telefónica, S.A."),
    ("ISP", "Intesa Sanpaolo S.p.A."),
    ("RACE", "Ferrari N.V."),
    ("STLA", "Stellantis N.V."),
    ("PHIA", "Koninklijke Philips N.V."),
    ("INGA", "ING Groep N.V."),
    ("HEIA", "Heineken N.V."),
    ("NOVO", "Novo Nordisk A/S"),
    ("EQNR", "Equinor ASA"),
    ("BABA", "Alibaba Group Holding Limited"),
    ("TM", "Toyota Motor Corporation"),
    ("SONY", "Sony Group Corporation"),
    ("JNJ", "Johnson & Johnson"),
    ("PG", "The Procter & Gamble Company"),
    ("XOM", "Exxon Mobil Corporation"),
    ("WMT", "Walmart Inc."),
    ("GE", "General Electric Company"),
    ("GM", "General Motors Company"),
    ("GS", "The Goldman Sachs Group, Inc."),
    ("MS", "Morgan Stanley"),
    ("WFC", "Wells Fargo & Company"),
    ("INTC", "Intel Corporation"),
    ("AMD", "Advanced Micro Devices, Inc."),
    ("ORCL", "Oracle Corporation"),
    ("CRM", "Salesforce, Inc."),
    ("NFLX", "Netflix, Inc."),
    ("ADBE", "Adobe Inc."),
    ("PEP", "PepsiCo, Inc."),
    ("MCD", "McDonald's Corporation"),
    ("DIS", "The Walt Disney Company"),
    ("PFE", "Pfizer Inc."),
    ("MRK", "Merck & Co., Inc."),
    ("BA", "The Boeing Company"),
    ("CAT", "Caterpillar Inc."),
    ("COST", "Costco Wholesale Corporation"),
    ("QCOM", "QUALCOMM Incorporated"),
    ("AVGO", "Broadcom Inc."),
    ("TXN", "Texas Instruments Incorporated"),
    ("SBUX", "Starbucks Corporation"),
    ("NKE", "NIKE, Inc."),
    ("UBER", "Uber Technologies, Inc."),
    ("PYPL", "PayPal Holdings, Inc."),
    ("SPOT", "Spotify Technology S.A."),
    ("IFX", "Infineon Technologies AG"),
    ("RHM", "Rheinmetall AG"),
    ("P911", "Dr. Ing. h.c. F. Porsche AG"),
)

# Company names as people type them into a search box (lower case, no legal suffix).
PHRASES: tuple[str, ...] = (
    "deutsche telekom",
    "deutsche bank",
    "deutsche post",
    "bank of america",
    "mercedes benz",
    "bayerische motoren werke",
    "hsbc holdings",
    "astrazeneca",
    "zurich insurance",
    "schneider electric",
    "intesa sanpaolo",
    "koninklijke philips",
    "novo nordisk",
    "toyota motor",
    "johnson johnson",
    "procter gamble",
    "exxon mobil",
    "general electric",
    "general motors",
    "goldman sachs",
    "morgan stanley",
    "wells fargo",
    "advanced micro devices",
    "walt disney",
    "costco wholesale",
    "texas instruments",
    "uber technologies",
    "spotify technology",
    "infineon technologies",
    "apple hospitality",
    "microsoft corporation",
    "societe generale",
    "banco santander",
    "berkshire hathaway",
    "coca cola",
    "munchener ruckversicherungs",
    "louis vuitton",
    "hermes international",
    "asml holding",
    "on semiconductor",
)


def insert_more_real_stocks(conn: psycopg.Connection) -> None:
    conn.cursor().executemany(
        "INSERT INTO public.stocks (ticker, name) VALUES (%s, %s)", MORE_REAL_STOCKS
    )


def insert_listings(conn: psycopg.Connection, count: int) -> int:
    """Add up to `count` real listings (equities first, then ETFs) whose tickers are not taken
    yet, in the file's order; returns how many were added."""
    with gzip.open(LISTINGS, "rt", encoding="utf-8", newline="") as handle:
        rows = [
            (r["ticker"], r["name"], r["sector"] or None, r["industry"] or None, r["exchange"])
            for r in csv.DictReader(handle)
        ]
    conn.execute(
        "CREATE TEMPORARY TABLE listings (ord serial, ticker text, name text, sector text,"
        " industry text, exchange text)"
    )
    with conn.cursor().copy(
        "COPY listings (ticker, name, sector, industry, exchange) FROM STDIN"
    ) as copy:
        for row in rows:
            copy.write_row(row)
    added = conn.execute(
        "INSERT INTO public.stocks (ticker, name, sector, industry, exchange)"
        " SELECT l.ticker, l.name, l.sector, l.industry, l.exchange FROM listings AS l"
        " WHERE NOT EXISTS (SELECT 1 FROM public.stocks AS s WHERE s.ticker = l.ticker)"
        " ORDER BY l.ord LIMIT %s",
        (max(count, 0),),
    ).rowcount
    conn.execute("DROP TABLE IF EXISTS listings")
    return added
