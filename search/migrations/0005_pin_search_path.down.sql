ALTER FUNCTION public.fuzzy_search_stocks(text, integer) RESET search_path;
ALTER FUNCTION public.search_stocks(text, integer) RESET search_path;
ALTER FUNCTION public.stocks_search_query(text, boolean) RESET search_path;
ALTER FUNCTION public.stocks_search_tokens(text) RESET search_path;
ALTER FUNCTION public.stocks_search_vector_refresh() RESET search_path;

-- The bodies of 0001, as text again (same behaviour; resolved at run time).
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

CREATE OR REPLACE FUNCTION public.stocks_name_document(ticker text, name text)
RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT setweight(to_tsvector('simple'::regconfig,
               public.immutable_unaccent(coalesce(ticker, '') || ' ' || coalesce(name, ''))), 'A')
        || setweight(to_tsvector('english'::regconfig,
               public.immutable_unaccent(coalesce(name, ''))), 'A')
$$;

CREATE OR REPLACE FUNCTION public.immutable_unaccent(value text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
AS $$ SELECT public.unaccent('public.unaccent'::regdictionary, value) $$;
