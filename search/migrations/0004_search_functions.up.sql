-- The interface the backend calls instead of Elasticsearch. Both functions return no rows (never
-- an error) for NULL, empty, punctuation-only or hostile input: the query text is only ever a
-- value, given to websearch_to_tsquery (which never raises), reduced to alphanumeric tokens, or
-- compared by trigrams; the one dynamic statement (fuzzy pass 2) quotes its tokens as literals.

-- Lower-cased, unaccented alphanumeric words of a user query, in order.
CREATE OR REPLACE FUNCTION public.stocks_search_tokens(query text)
RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT coalesce(array_agg(token), '{}')
    FROM regexp_split_to_table(
        lower(public.immutable_unaccent(coalesce(query, ''))), '[^[:alnum:]]+'
    ) AS token
    WHERE token <> ''
$$;

-- The tsquery for a user query. Without web-search operators: the words under both configurations
-- the vector uses, or (with `prefixes`) every word as a prefix (type-ahead: `appl` finds Apple).
-- With operators (quotes, `or`, `-word`): web-search syntax under the english configuration.
-- websearch_to_tsquery has no prefix syntax, so the prefix part is built from the sanitised
-- tokens, which are alphanumeric and need no quoting.
CREATE OR REPLACE FUNCTION public.stocks_search_query(query text, prefixes boolean DEFAULT true)
RETURNS tsquery
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
-- websearch_to_tsquery NOTICEs when a configuration drops every word (stop words only).
SET client_min_messages = warning
AS $$
DECLARE
    tokens text[] := public.stocks_search_tokens(query);
    cleaned text := lower(public.immutable_unaccent(coalesce(query, '')));
    result tsquery;
BEGIN
    IF cardinality(tokens) = 0 THEN
        RETURN NULL;
    END IF;
    IF cleaned ~ '"|(^|\s)-|\sor\s' THEN
        -- Operators: one configuration only, or `-word` could be satisfied through the other one
        -- (`investment` is not a lexeme of the english-stemmed description). `simple` only when
        -- english drops every word (stop words).
        result := websearch_to_tsquery('english'::regconfig, cleaned);
        IF numnode(result) = 0 THEN
            result := websearch_to_tsquery('simple'::regconfig, cleaned);
        END IF;
    ELSE
        result := websearch_to_tsquery('english'::regconfig, cleaned)
            || websearch_to_tsquery('simple'::regconfig, cleaned);
        IF prefixes THEN
            result := result || to_tsquery(
                'simple'::regconfig, array_to_string(
                    -- One-letter words stay whole: as prefixes they would match most of the table.
                    ARRAY(SELECT token || CASE WHEN length(token) > 1 THEN ':*' ELSE '' END
                          FROM unnest(tokens) AS token), ' & '
                )
            );
        END IF;
    END IF;
    IF numnode(result) = 0 THEN
        RETURN NULL;
    END IF;
    RETURN result;
END
$$;

-- Ranking, best first: an exact ticker match; then stocks whose ticker or name matches, by
-- ts_rank over the whole weighted vector (A ticker/name 1.0, B sector/industry 0.4, C description
-- 0.2; normalisation 32 maps it into [0, 1)); then stocks that match only in sector, industry or
-- description, by the same rank and with whole words only (prefixes serve type-ahead on names).
-- Each tier ranks a bounded candidate set (1,000 name matches, 200 others), which is what keeps a
-- word common in descriptions from ranking a large part of the table.
-- A single one- or two-character query is a type-ahead on ticker and name prefixes instead.
CREATE OR REPLACE FUNCTION public.search_stocks(query text, max_results integer DEFAULT 20)
RETURNS TABLE (ticker text, name text, sector text, industry text, score numeric)
LANGUAGE plpgsql STABLE PARALLEL SAFE
-- Custom plans on every call: a generic plan cannot see the tsquery or LIKE prefix and may skip
-- the indexes.
SET plan_cache_mode = force_custom_plan
AS $$
#variable_conflict use_column
DECLARE
    tokens text[] := public.stocks_search_tokens(query);
    tsq tsquery;
    words tsquery;
    exact text := lower(btrim(coalesce(query, '')));
    wanted integer := least(greatest(coalesce(max_results, 20), 0), 100);
    found integer;
    total integer := 0;
BEGIN
    IF cardinality(tokens) = 0 OR wanted = 0 THEN
        RETURN;
    END IF;

    IF cardinality(tokens) = 1 AND length(tokens[1]) <= 2 THEN
        RETURN QUERY
        SELECT s.ticker::text, s.name::text, s.sector::text, s.industry::text, 1.0::numeric
        FROM public.stocks AS s WHERE lower(s.ticker) = tokens[1];
        GET DIAGNOSTICS found = ROW_COUNT;
        total := total + found;
        RETURN QUERY
        SELECT s.ticker::text, s.name::text, s.sector::text, s.industry::text, 0.5::numeric
        FROM public.stocks AS s
        WHERE lower(s.ticker) LIKE tokens[1] || '%' AND lower(s.ticker) <> tokens[1]
        -- The pattern operator class's own order, so that the index returns rows already sorted.
        ORDER BY lower(s.ticker) USING ~<~
        LIMIT wanted - total;
        GET DIAGNOSTICS found = ROW_COUNT;
        total := total + found;
        IF total < wanted THEN
            RETURN QUERY
            SELECT s.ticker::text, s.name::text, s.sector::text, s.industry::text, 0.25::numeric
            FROM public.stocks AS s
            WHERE lower(public.immutable_unaccent(s.name)) LIKE tokens[1] || '%'
              AND lower(s.ticker) NOT LIKE tokens[1] || '%'
            ORDER BY lower(public.immutable_unaccent(s.name)) USING ~<~
            LIMIT wanted - total;
        END IF;
        RETURN;
    END IF;

    tsq := public.stocks_search_query(query);
    RETURN QUERY
    SELECT s.ticker::text, s.name::text, s.sector::text, s.industry::text,
           round(1 + CASE WHEN tsq IS NULL THEN 0
                          ELSE ts_rank(s.search_vector, tsq, 32) END::numeric, 6)
    FROM public.stocks AS s WHERE lower(s.ticker) = exact;
    GET DIAGNOSTICS found = ROW_COUNT;
    total := total + found;
    IF tsq IS NULL OR total >= wanted THEN
        RETURN;
    END IF;

    RETURN QUERY
    SELECT c.ticker::text, c.name::text, c.sector::text, c.industry::text,
           round(ts_rank(c.search_vector, tsq, 32)::numeric, 6) AS score
    FROM (
        SELECT s.ticker, s.name, s.sector, s.industry, s.search_vector
        FROM public.stocks AS s
        WHERE public.stocks_name_document(s.ticker, s.name) @@ tsq AND lower(s.ticker) <> exact
        LIMIT 1000
    ) AS c
    ORDER BY score DESC, c.ticker
    LIMIT wanted - total;
    GET DIAGNOSTICS found = ROW_COUNT;
    total := total + found;
    words := public.stocks_search_query(query, false);
    IF total >= wanted OR words IS NULL THEN
        RETURN;
    END IF;

    RETURN QUERY
    SELECT c.ticker::text, c.name::text, c.sector::text, c.industry::text,
           round(ts_rank(c.search_vector, words, 32)::numeric, 6) AS score
    FROM (
        SELECT s.ticker, s.name, s.sector, s.industry, s.search_vector
        FROM public.stocks AS s
        WHERE s.search_vector @@ words
          -- Not already returned by the name tier: the A-weighted lexemes are the name document.
          AND NOT ts_filter(s.search_vector, '{a}') @@ tsq
          AND lower(s.ticker) <> exact
        LIMIT 200
    ) AS c
    ORDER BY score DESC, c.ticker
    LIMIT wanted - total;
END
$$;

-- Typo-tolerant search over ticker and name, scored by trigram word similarity to the name (or
-- similarity to the ticker). pg_trgm's default word-similarity threshold (0.6) misses real typos:
-- `mircosoft` has a word similarity of only 0.43 to "microsoft corporation". So two passes:
--   1. threshold 0.6 on the whole query: close matches, few candidates, all ranked;
--   2. only when pass 1 found nothing: threshold 0.4, which catches a transposition or a wrong
--      letter in a word of six letters or more. A one-word query is compared as a whole; a query
--      of several words needs each word of three letters or more to be within 0.4 of a word of
--      the name (the index intersects them), since the whole query at 0.4 would let a common
--      word (`holdings`) pull in thousands of names for the recheck.
-- Lower than 0.4 lets in noise and costs time. The thresholds are set for the duration of the
-- function only. Queries shorter than three characters have no useful trigrams and take
-- search_stocks' prefix type-ahead; the ticker is compared only for queries without spaces of up
-- to 8 characters.
CREATE OR REPLACE FUNCTION public.fuzzy_search_stocks(query text, max_results integer DEFAULT 20)
RETURNS TABLE (ticker text, name text, sector text, industry text, score numeric)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET pg_trgm.word_similarity_threshold = 0.6
SET pg_trgm.similarity_threshold = 0.4
SET plan_cache_mode = force_custom_plan
AS $$
#variable_conflict use_column
DECLARE
    tokens text[] := public.stocks_search_tokens(query);
    cleaned text := array_to_string(tokens, ' ');
    long_words text[] := ARRAY(SELECT t FROM unnest(tokens) AS t WHERE length(t) >= 3);
    -- Tickers keep their punctuation (BRK.B), so they are compared with the query as typed.
    ticker_query text := lower(public.immutable_unaccent(btrim(coalesce(query, ''))));
    wanted integer := least(greatest(coalesce(max_results, 20), 0), 100);
    with_ticker boolean;
    found integer;
    conditions text;
BEGIN
    IF cleaned = '' OR wanted = 0 THEN
        RETURN;
    END IF;
    IF length(cleaned) < 3 THEN
        RETURN QUERY SELECT * FROM public.search_stocks(cleaned, wanted);
        RETURN;
    END IF;
    with_ticker := ticker_query !~ '\s' AND length(ticker_query) <= 8;

    RETURN QUERY
    SELECT c.ticker::text, c.name::text, c.sector::text, c.industry::text,
           round(greatest(
               word_similarity(cleaned, c.normalized),
               CASE WHEN with_ticker THEN similarity(ticker_query, lower(c.ticker)) ELSE 0 END
           )::numeric, 4) AS score
    FROM (
        SELECT s.ticker, s.name, s.sector, s.industry,
               lower(public.immutable_unaccent(s.name)) AS normalized
        FROM public.stocks AS s
        WHERE cleaned <% lower(public.immutable_unaccent(s.name))
           OR (with_ticker AND lower(s.ticker) % ticker_query)
        LIMIT 1000
    ) AS c
    ORDER BY score DESC, similarity(cleaned, c.normalized) DESC, c.ticker
    LIMIT wanted;
    GET DIAGNOSTICS found = ROW_COUNT;
    IF found > 0 OR cardinality(long_words) = 0 THEN
        RETURN;
    END IF;

    PERFORM set_config('pg_trgm.word_similarity_threshold', '0.4', true);
    -- One condition per word, so that the trigram index intersects them; the words are
    -- alphanumeric tokens and are quoted as literals all the same.
    conditions := (
        SELECT string_agg(format('%L <%% lower(public.immutable_unaccent(s.name))', w), ' AND ')
        FROM unnest(long_words) AS w
    );
    RETURN QUERY EXECUTE format(
        'SELECT s.ticker::text, s.name::text, s.sector::text, s.industry::text,
                round(word_similarity($1, lower(public.immutable_unaccent(s.name)))::numeric, 4)
                    AS score
         FROM public.stocks AS s
         WHERE %s
         ORDER BY score DESC, similarity($1, lower(public.immutable_unaccent(s.name))) DESC,
                  s.ticker
         LIMIT $2',
        conditions
    ) USING cleaned, wanted;
END
$$;
