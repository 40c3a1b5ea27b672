-- Pin name resolution in every function of the search schema, so that no caller's search_path
-- (a schema of its own placed first, or pg_catalog listed after one) can make them run another
-- object of the same name.
--
-- The three SQL functions evaluated per row (backfill, trigger, index expressions, the rechecks of
-- both search tiers) get SQL-standard bodies (RETURN ...): PostgreSQL parses and binds those when
-- the function is created, so the caller's search_path plays no part when they run. A SET clause
-- would do the same at a price per call: it stops the planner from inlining the two document
-- functions (measured: 100,000 calls 0.9 s -> 2.9 s) and costs immutable_unaccent a configuration
-- switch per call (0.24 s -> 0.29 s), which showed in the fuzzy search's p95.
-- The bodies below bind the same objects the old ones resolved, under the same path as the rest.
SET LOCAL search_path = public, pg_temp;

CREATE OR REPLACE FUNCTION public.immutable_unaccent(value text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
RETURN public.unaccent('public.unaccent'::regdictionary, value);

CREATE OR REPLACE FUNCTION public.stocks_name_document(ticker text, name text)
RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN setweight(to_tsvector('simple'::regconfig,
           public.immutable_unaccent(coalesce(ticker, '') || ' ' || coalesce(name, ''))), 'A')
    || setweight(to_tsvector('english'::regconfig,
           public.immutable_unaccent(coalesce(name, ''))), 'A');

CREATE OR REPLACE FUNCTION public.stocks_search_document(
    ticker text, name text, sector text, industry text, description text
)
RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN public.stocks_name_document(ticker, name)
    || setweight(to_tsvector('english'::regconfig, public.immutable_unaccent(
           coalesce(sector, '') || ' ' || coalesce(industry, ''))), 'B')
    || setweight(to_tsvector('english'::regconfig,
           public.immutable_unaccent(coalesce(description, ''))), 'C');

-- The others run once per query (or per trigger call, around the inlined document function),
-- so a SET clause costs little. pg_catalog stays first (implicitly); pg_temp last, so that no
-- temporary table or function can shadow anything.
ALTER FUNCTION public.stocks_search_vector_refresh() SET search_path = public, pg_temp;
ALTER FUNCTION public.stocks_search_tokens(text) SET search_path = public, pg_temp;
ALTER FUNCTION public.stocks_search_query(text, boolean) SET search_path = public, pg_temp;
ALTER FUNCTION public.search_stocks(text, integer) SET search_path = public, pg_temp;
ALTER FUNCTION public.fuzzy_search_stocks(text, integer) SET search_path = public, pg_temp;
