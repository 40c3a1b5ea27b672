-- Typo tolerance, part 4: ranking measured on real listings (tests/search/data/listings.csv.gz:
-- 106,143 equities and ETFs of 80 exchanges, where one company is often listed five times and
-- most three-letter strings are somebody's ticker). Two changes, same signatures:
--   - stocks_search_corrections: a left-out letter costs 0.6 instead of 0.8;
--   - fuzzy_search_stocks, one-word queries: the n-th stock of a correction scores 1/n of the
--     first, so that the first five results show the likeliest corrections side by side instead
--     of five listings of the cheapest one; a stock whose ticker is the term comes first among
--     its stocks; for the word as typed (cost 0) only listings of the same name are divided,
--     so every company having the word keeps its full score; among equal scores, stocks whose
--     whole ticker is the term first.
-- docs/SEARCH.md has the recall before and after, per typo kind.
SET LOCAL search_path = public, pg_temp;
-- Load pg_trgm's library first: until it is loaded, its settings are placeholders, which
-- PostgreSQL 15 lets only a superuser put in a function's SET clause.
SELECT public.similarity('', '');

-- The vocabulary terms within one edit of `word`, with the cost of the typo that turns the term
-- into `word`, cheapest first, at most `max_terms`. Words under three letters match only
-- themselves (as in Elasticsearch's AUTO fuzziness). With q the query word's deleted position
-- and t the term's, a shared key means:
--   q = 0, t = 0: the term itself, cost 0;
--   q = 0, t > 0: a letter left out, 0.6 (0011; was 0.8);
--   q > 0, t = 0: a letter typed in addition: 0.8 when it doubles or neighbours (QWERTY) the
--                 letter beside it, else 0.9;
--   q = t:        a letter typed instead of another: 0.7 for a neighbouring key, else 1.0;
--   |q - t| = 1 and the same letter deleted: two adjacent letters swapped, 0.6;
--   otherwise two edits (a subset of them), 1.6, for words of six letters or more only.
-- The costs only order terms that are all one edit away: the likeliest typo first. A left-out
-- letter costs as little as a swap: one of the n letters of the term is missing, about as likely
-- as one of its n - 1 pairs swapped, and far likelier than one particular neighbouring key of
-- six; typing studies find omissions the most frequent typo of all.
CREATE OR REPLACE FUNCTION public.stocks_search_corrections(word text, max_terms integer DEFAULT 30)
RETURNS TABLE (term text, cost numeric)
LANGUAGE plpgsql STABLE PARALLEL SAFE STRICT
-- PL/pgSQL caches the plans of its queries for the session; an SQL function would plan its
-- query again on every call.
SET plan_cache_mode = auto
SET search_path = public, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    keys text[];
    positions smallint[];
BEGIN
    IF word = '' THEN
        RETURN;
    END IF;
    SELECT array_agg(d.key), array_agg(d.deleted) INTO keys, positions
    FROM public.stocks_search_deletions(word) AS d
    WHERE d.deleted = 0 OR length(word) >= 3;
    RETURN QUERY
    SELECT e.term, min(e.cost) AS cost
    FROM (
        SELECT v.term, CASE
            WHEN q.deleted = 0 AND v.deleted = 0 THEN 0.0
            WHEN q.deleted = 0 THEN 0.6
            WHEN v.deleted = 0 THEN CASE
                WHEN substr(word, q.deleted, 1) IN (substr(word, q.deleted - 1, 1),
                                                    substr(word, q.deleted + 1, 1))
                  OR public.stocks_search_near_keys(substr(word, q.deleted, 1),
                                                    substr(word, q.deleted - 1, 1))
                  OR public.stocks_search_near_keys(substr(word, q.deleted, 1),
                                                    substr(word, q.deleted + 1, 1))
                THEN 0.8 ELSE 0.9 END
            WHEN q.deleted = v.deleted THEN CASE
                WHEN public.stocks_search_near_keys(substr(word, q.deleted, 1),
                                                   substr(v.term, v.deleted, 1))
                THEN 0.7 ELSE 1.0 END
            WHEN abs(q.deleted - v.deleted) = 1
                 AND substr(word, q.deleted, 1) = substr(v.term, v.deleted, 1) THEN 0.6
            WHEN length(word) >= 6 THEN 1.6
        END AS cost
        FROM unnest(keys, positions) AS q(key, deleted)
        JOIN public.stocks_search_vocabulary AS v ON v.key = q.key
        WHERE v.key = ANY (keys)
          -- A short word's own key also holds the terms one letter longer: not for it.
          AND (length(word) >= 3 OR v.deleted = 0)
    ) AS e
    WHERE e.cost IS NOT NULL
    GROUP BY e.term
    ORDER BY cost, e.term
    LIMIT max_terms;
END
$$;

-- Typo-tolerant search over ticker and name. Same signature and result as before; best first:
--   0. the stock whose ticker is the query, as typed (score 1);
--   1. the typo pass: each distinct query word (the first 8) is corrected against the vocabulary
--      (0007: the word itself, and for words of three letters or more the terms one edit away,
--      cheapest typo first, at most 30), and the last word of four letters or more also
--      completes as a prefix (cost 0.45 + 0.1 per missing letter, the 30 shortest). Stocks
--      having a correction of every word that has any are ranked by the summed cost of their
--      corrections: score = 0.99 * (1 - cost / (2 * words)), at least 0 (a long completion);
--      for one word, divided by n for the n-th stock of the same correction (0011, below);
--   2. only when the typo pass finds nothing (no word has a correction, or no stock has all of
--      them): 0004's trigram passes.
CREATE OR REPLACE FUNCTION public.fuzzy_search_stocks(query text, max_results integer DEFAULT 20)
RETURNS TABLE (ticker text, name text, sector text, industry text, score numeric)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET pg_trgm.word_similarity_threshold = 0.6
SET pg_trgm.similarity_threshold = 0.4
SET plan_cache_mode = force_custom_plan
SET search_path = public, pg_temp
-- Every query here is meant to run on an index; with LIMIT, the planner may cost a seq scan
-- that stops early as cheaper for a common term, but each row it reads computes the terms.
SET enable_seqscan = off
AS $$
#variable_conflict use_column
DECLARE
    tokens text[] := public.stocks_search_tokens(query);
    cleaned text := array_to_string(tokens, ' ');
    long_words text[] := ARRAY(SELECT t FROM unnest(tokens) AS t WHERE length(t) >= 3);
    -- Tickers keep their punctuation (BRK.B), so they are compared with the query as typed.
    ticker_query text := lower(public.immutable_unaccent(btrim(coalesce(query, ''))));
    wanted integer := least(greatest(coalesce(max_results, 20), 0), 100);
    words text[] := ARRAY(
        SELECT u.t FROM unnest(tokens) WITH ORDINALITY AS u(t, n)
        GROUP BY u.t ORDER BY min(u.n) LIMIT 8
    );
    corr_word integer[] := '{}';
    corr_term text[] := '{}';
    corr_cost numeric[] := '{}';
    word_terms text[];
    word_costs numeric[];
    groups text[] := '{}';
    with_ticker boolean;
    found integer := 0;
    typo_found integer := 0;
    conditions text;
BEGIN
    IF cleaned = '' OR wanted = 0 THEN
        RETURN;
    END IF;
    IF length(cleaned) < 3 THEN
        RETURN QUERY SELECT * FROM public.search_stocks(cleaned, wanted);
        RETURN;
    END IF;

    FOR i IN 1 .. cardinality(words) LOOP
        SELECT array_agg(c.term ORDER BY c.cost, c.term), array_agg(c.cost ORDER BY c.cost, c.term)
        INTO word_terms, word_costs
        FROM (
            SELECT c.term, min(c.cost) AS cost
            FROM (
                SELECT * FROM public.stocks_search_corrections(words[i])
                UNION ALL
                SELECT * FROM public.stocks_search_completions(words[i])
                WHERE i = cardinality(words) AND length(words[i]) >= 4
            ) AS c
            GROUP BY c.term
        ) AS c;
        CONTINUE WHEN word_terms IS NULL;
        corr_word := corr_word || array_fill(i, ARRAY[cardinality(word_terms)]);
        corr_term := corr_term || word_terms;
        corr_cost := corr_cost || word_costs;
        -- Terms are alphanumeric; quote_literal all the same.
        groups := groups || ('(' || array_to_string(
            ARRAY(SELECT quote_literal(t) FROM unnest(word_terms) AS t), ' | ') || ')');
    END LOOP;

    RETURN QUERY
    SELECT s.ticker::text, s.name::text, s.sector::text, s.industry::text, 1.0::numeric
    FROM public.stocks AS s WHERE lower(s.ticker) = ticker_query;
    GET DIAGNOSTICS found = ROW_COUNT;
    IF found >= wanted THEN
        RETURN;
    END IF;

    IF cardinality(groups) = 1 THEN
        -- One word to match: the stocks having each correction. The n-th stock of a correction
        -- scores 1/n of its first (a term's other listings, share classes and funds of the same
        -- name), so that the first results show the likeliest corrections side by side rather
        -- than every listing of the cheapest one; the stock whose ticker is the term is its
        -- first. For the word as typed only listings of the same name are divided: every
        -- company having it keeps its full score. Equal scores: a stock whose whole ticker is
        -- its term first (a query without an exchange suffix is likelier a ticker someone
        -- types, MRNA, than a name word, Mora, or a listing's base, M0RA.MU), then by ticker.
        -- A stock with two corrections appears once, at its best.
        RETURN QUERY
        SELECT b.ticker::text, b.name::text, b.sector::text, b.industry::text, b.score
        FROM (
            SELECT DISTINCT ON (m.ticker) m.ticker, m.name, m.sector, m.industry, m.score,
                   m.ticker_is_term
            FROM (
                SELECT s.ticker, s.name, s.sector, s.industry,
                       round(greatest(0, 0.99 * (1 - k.cost / (2 * cardinality(words))))
                             / s.n, 4) AS score,
                       lower(s.ticker) = k.term AS ticker_is_term
                FROM unnest(corr_term, corr_cost) AS k(term, cost)
                CROSS JOIN LATERAL (
                    SELECT s.ticker, s.name, s.sector, s.industry,
                           row_number() OVER (
                               PARTITION BY CASE WHEN k.cost = 0 THEN lower(s.name) END
                               ORDER BY
                                   substring(lower(s.ticker) FROM '^[[:alnum:]]*') = k.term DESC,
                                   s.ticker) AS n
                    FROM (
                        SELECT s.ticker, s.name, s.sector, s.industry
                        FROM public.stocks AS s
                        WHERE public.stocks_search_terms(s.ticker, s.name)
                              @@ quote_literal(k.term)::tsquery
                          AND lower(s.ticker) <> ticker_query
                        LIMIT wanted
                    ) AS s
                ) AS s
            ) AS m
            -- Each stock at its best correction, and whether its ticker is that one's term.
            ORDER BY m.ticker, m.score DESC, m.ticker_is_term DESC
        ) AS b
        ORDER BY b.score DESC, b.ticker_is_term DESC, b.ticker
        LIMIT wanted - found;
        GET DIAGNOSTICS typo_found = ROW_COUNT;
    ELSIF cardinality(groups) > 1 THEN
        -- Several words: the stocks having a correction of each (the index intersects them),
        -- each ranked by its cheapest correction per word.
        RETURN QUERY
        WITH corrections (word, term, cost) AS (
            SELECT * FROM unnest(corr_word, corr_term, corr_cost)
        ), candidates AS (
            SELECT s.id, s.ticker, s.name, s.sector, s.industry,
                   public.stocks_search_terms(s.ticker, s.name) AS terms
            FROM public.stocks AS s
            WHERE public.stocks_search_terms(s.ticker, s.name)
                  @@ array_to_string(groups, ' & ')::tsquery
              AND lower(s.ticker) <> ticker_query
            LIMIT 200
        ), best AS (
            SELECT c.id, k.word, min(k.cost) AS cost
            FROM candidates AS c
            CROSS JOIN LATERAL unnest(tsvector_to_array(c.terms)) AS lexeme(term)
            JOIN corrections AS k ON k.term = lexeme.term
            GROUP BY c.id, k.word
        ), ranked AS (
            SELECT b.id, sum(b.cost) AS cost FROM best AS b GROUP BY b.id
        )
        SELECT c.ticker::text, c.name::text, c.sector::text, c.industry::text,
               round(greatest(0, 0.99 * (1 - r.cost / (2 * cardinality(words)))), 4) AS score
        FROM candidates AS c JOIN ranked AS r ON r.id = c.id
        ORDER BY score DESC, length(c.name), c.ticker
        LIMIT wanted - found;
        GET DIAGNOSTICS typo_found = ROW_COUNT;
    END IF;
    IF found + typo_found > 0 THEN
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
