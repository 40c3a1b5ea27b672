-- The weighted, unaccented search vector on the application's stocks table, kept in sync by a
-- trigger. A trigger-maintained column rather than a STORED generated column: adding a generated
-- column rewrites the whole table under an ACCESS EXCLUSIVE lock, whereas ADD COLUMN without a
-- default only touches the catalogue; 0002 then backfills in batches.

-- unaccent() is STABLE (it depends on the search_path to find its dictionary), so it cannot appear
-- in an index expression; naming the dictionary and its schema makes the wrapper immutable.
CREATE OR REPLACE FUNCTION public.immutable_unaccent(value text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
AS $$ SELECT public.unaccent('public.unaccent'::regdictionary, value) $$;

-- Ticker and name are indexed twice at weight A: with `simple` (no stemming, no stop words, so the
-- ticker ALL and the name Nestlé stay whole) and with `english` (stems, so "technologies" meets
-- "technology"). The query side ORs both configurations, which is what keeps `nestle` from missing.
CREATE OR REPLACE FUNCTION public.stocks_name_document(ticker text, name text)
RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT setweight(to_tsvector('simple'::regconfig,
               public.immutable_unaccent(coalesce(ticker, '') || ' ' || coalesce(name, ''))), 'A')
        || setweight(to_tsvector('english'::regconfig,
               public.immutable_unaccent(coalesce(name, ''))), 'A')
$$;

CREATE OR REPLACE FUNCTION public.stocks_search_document(
    ticker text, name text, sector text, industry text, description text
)
RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT public.stocks_name_document(ticker, name)
        || setweight(to_tsvector('english'::regconfig, public.immutable_unaccent(
               coalesce(sector, '') || ' ' || coalesce(industry, ''))), 'B')
        || setweight(to_tsvector('english'::regconfig,
               public.immutable_unaccent(coalesce(description, ''))), 'C')
$$;

CREATE OR REPLACE FUNCTION public.stocks_search_vector_refresh()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    NEW.search_vector := public.stocks_search_document(
        NEW.ticker, NEW.name, NEW.sector, NEW.industry, NEW.description
    );
    RETURN NEW;
END
$$;

-- IF NOT EXISTS: databases that followed the old manual checklist already have an unweighted
-- column of this name; 0002 rewrites its values, it does not trust them.
ALTER TABLE public.stocks ADD COLUMN IF NOT EXISTS search_vector tsvector;

DROP TRIGGER IF EXISTS stocks_search_vector_refresh ON public.stocks;
CREATE TRIGGER stocks_search_vector_refresh
    BEFORE INSERT OR UPDATE OF ticker, name, sector, industry, description ON public.stocks
    FOR EACH ROW EXECUTE FUNCTION public.stocks_search_vector_refresh();
