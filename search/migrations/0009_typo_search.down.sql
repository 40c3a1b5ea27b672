-- 0004's fuzzy_search_stocks (trigram passes only), with 0005's pinned search_path.
-- Load pg_trgm's library first: until it is loaded, its settings are placeholders, which
-- PostgreSQL 15 lets only a superuser put in a function's SET clause.
SELECT public.similarity('', '');
CREATE OR REPLACE FUNCTION public.fuzzy_search_stocks(query text, max_results integer DEFAULT 20)
RETURNS TABLE (ticker text, name text, sector text, industry text, score numeric)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET pg_trgm.word_similarity_threshold = 0.6
SET pg_trgm.similarity_threshold = 0.4
SET plan_cache_mode = force_custom_plan
SET search_path = public, pg_temp
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
