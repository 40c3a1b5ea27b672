-- Typo tolerance, part 1: the words of every stock's ticker and name (its *terms*), and a
-- vocabulary of the distinct terms with their one-letter deletions, kept exact by triggers.
--
-- Why: trigrams cannot see a single edit in a short word (`mfst` shares one trigram with
-- `msft`; a transposition in `kalemo` leaves 3 of its 11), so fuzzy_search_stocks missed most
-- swapped letters. The vocabulary stores each term under itself and under each string it gives
-- with one letter deleted (SymSpell's deletion neighbourhood, distance 1). A query word is looked
-- up the same way, itself and its n deletions: n + 1 btree probes find every term one edit away,
-- transpositions included, and the two positions tell which edit it was (see
-- stocks_search_corrections). Generating all edits of the query instead (about 75 per letter)
-- and probing for each cost 4 ms per word in a first version; this costs about 0.3 ms, for
-- roughly eight rows per term.
SET LOCAL search_path = public, pg_temp;
-- Re-runnable (OR REPLACE, IF NOT EXISTS), like 0001: `db migrate` may apply it again after a
-- history row was lost.

-- The terms of a stock: the unaccented, lower-cased alphanumeric words of ticker and name, and
-- the ticker without its punctuation (BRK.B: brk, b, brkb). A SQL-standard body (bound at
-- creation, inlinable) because it is an index expression evaluated per row.
CREATE OR REPLACE FUNCTION public.stocks_search_terms(ticker text, name text)
RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN strip(to_tsvector('simple'::regconfig,
    regexp_replace(
        lower(public.immutable_unaccent(coalesce(ticker, '') || ' ' || coalesce(name, ''))),
        '[^[:alnum:]]+', ' ', 'g')
    || ' ' || regexp_replace(lower(coalesce(ticker, '')), '[^[:alnum:]]+', '', 'g')));

-- A word under itself (position 0) and with each letter deleted in turn (position of the
-- deleted letter, from 1).
CREATE OR REPLACE FUNCTION public.stocks_search_deletions(word text)
RETURNS TABLE (key text, deleted smallint)
-- Not STRICT, like stocks_search_near_keys: the planner inlines only non-strict SQL functions
-- whose body is not strict itself (a call costs more than the body).
LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT word, 0::smallint
    UNION ALL
    SELECT left(word, i - 1) || substr(word, i + 1), i::smallint
    FROM generate_series(1, length(word)) AS i;
END;

CREATE TABLE IF NOT EXISTS public.stocks_search_vocabulary (
    key text COLLATE "C" NOT NULL,
    term text COLLATE "C" NOT NULL,
    deleted smallint NOT NULL,
    PRIMARY KEY (key, term, deleted)
);
COMMENT ON TABLE public.stocks_search_vocabulary IS
    'Terms of stocks.ticker and stocks.name under their one-letter deletions (0: the term itself); '
    'kept by the stocks_search_vocabulary_* triggers, read by fuzzy_search_stocks.';

-- Keeps the vocabulary exactly the terms of the current rows: a new term is added with the row
-- that brings it; a term is removed with the last row that had it (a rename counts as both).
-- Inserters take a shared advisory lock per added term and a remover an exclusive one before it
-- checks that no other row has the term, so that a concurrent insert of the same term either
-- commits before the check (which then sees it) or waits and adds it again after the removal.
-- Nothing is counted, so there is no hot row ("inc") for writers to queue on. Locks are taken in
-- term order. The check uses the terms index (0008) and sees other sessions' committed rows
-- because each statement takes a new snapshot under READ COMMITTED, the default; a REPEATABLE
-- READ writer can leave a term that no row has (harmless: it finds no stock), never lose one.
CREATE OR REPLACE FUNCTION public.stocks_search_vocabulary_refresh()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = public, pg_temp
-- The "does another row have it" check is an EXISTS, which the planner costs as a seq scan that
-- stops at the first match; for a rare term (the usual case: a deleted company's brand) that
-- computes the terms of every row, seconds at 100,000 rows. The terms index answers it in
-- microseconds.
SET enable_seqscan = off
AS $$
DECLARE
    old_terms text[] := CASE WHEN TG_OP = 'INSERT' THEN '{}'::text[]
        ELSE tsvector_to_array(public.stocks_search_terms(OLD.ticker, OLD.name)) END;
    new_terms text[] := CASE WHEN TG_OP = 'DELETE' THEN '{}'::text[]
        ELSE tsvector_to_array(public.stocks_search_terms(NEW.ticker, NEW.name)) END;
    removed text;
BEGIN
    PERFORM pg_advisory_xact_lock_shared(1937011059, hashtext(t))
    FROM unnest(new_terms) AS t WHERE t <> ALL (old_terms) ORDER BY t;
    INSERT INTO public.stocks_search_vocabulary (key, term, deleted)
    SELECT d.key, t, d.deleted
    FROM unnest(new_terms) AS t CROSS JOIN LATERAL public.stocks_search_deletions(t) AS d
    WHERE t <> ALL (old_terms)
    ORDER BY 1, 2, 3
    ON CONFLICT DO NOTHING;
    FOR removed IN SELECT t FROM unnest(old_terms) AS t WHERE t <> ALL (new_terms) ORDER BY t LOOP
        -- Most removed terms ("inc", "holdings") are still someone's: no lock needed for those.
        CONTINUE WHEN EXISTS (
            SELECT FROM public.stocks AS s
            WHERE public.stocks_search_terms(s.ticker, s.name) @@ quote_literal(removed)::tsquery
        );
        PERFORM pg_advisory_xact_lock(1937011059, hashtext(removed));
        CONTINUE WHEN EXISTS (
            SELECT FROM public.stocks AS s
            WHERE public.stocks_search_terms(s.ticker, s.name) @@ quote_literal(removed)::tsquery
        );
        DELETE FROM public.stocks_search_vocabulary AS v
        WHERE v.key IN (SELECT d.key FROM public.stocks_search_deletions(removed) AS d)
          AND v.term = removed;
    END LOOP;
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS stocks_search_vocabulary_insert ON public.stocks;
CREATE TRIGGER stocks_search_vocabulary_insert
    AFTER INSERT ON public.stocks
    FOR EACH ROW EXECUTE FUNCTION public.stocks_search_vocabulary_refresh();
DROP TRIGGER IF EXISTS stocks_search_vocabulary_update ON public.stocks;
CREATE TRIGGER stocks_search_vocabulary_update
    AFTER UPDATE OF ticker, name ON public.stocks
    FOR EACH ROW
    WHEN (OLD.ticker IS DISTINCT FROM NEW.ticker OR OLD.name IS DISTINCT FROM NEW.name)
    EXECUTE FUNCTION public.stocks_search_vocabulary_refresh();
DROP TRIGGER IF EXISTS stocks_search_vocabulary_delete ON public.stocks;
CREATE TRIGGER stocks_search_vocabulary_delete
    AFTER DELETE ON public.stocks
    FOR EACH ROW EXECUTE FUNCTION public.stocks_search_vocabulary_refresh();

-- Whether two keys touch on a QWERTY keyboard (digits row included); false for anything else.
CREATE OR REPLACE FUNCTION public.stocks_search_near_keys(a text, b text)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN coalesce(b <> '' AND strpos(
    (ARRAY['9op', '2q', '13qw', '24ew', '35er', '46rt', '57ty', '68uy', '79iu', '08io', 'qswz',
           'ghnv', 'dfvx', 'cefrsx', '34drsw', 'cdgrtv', 'bfhtvy', 'bgjnuy', '89jkou', 'hikmnu',
           'ijlmo', 'kop', 'jkn', 'bhjm', '09iklp', '0lo', '12aw', '45deft', 'adewxz', '56fgry',
           '78hijy', 'bcfg', '23aeqs', 'cdsz', '67ghtu', 'asx'])
        [strpos('0123456789abcdefghijklmnopqrstuvwxyz', a)],
    b) > 0, false);

-- The vocabulary terms within one edit of `word`, with the cost of the typo that turns the term
-- into `word`, cheapest first, at most `max_terms`. Words under three letters match only
-- themselves (as in Elasticsearch's AUTO fuzziness). With q the query word's deleted position
-- and t the term's, a shared key means:
--   q = 0, t = 0: the term itself, cost 0;
--   q = 0, t > 0: a letter left out, 0.8;
--   q > 0, t = 0: a letter typed in addition: 0.8 when it doubles or neighbours (QWERTY) the
--                 letter beside it, else 0.9;
--   q = t:        a letter typed instead of another: 0.7 for a neighbouring key, else 1.0;
--   |q - t| = 1 and the same letter deleted: two adjacent letters swapped, 0.6;
--   otherwise two edits (a subset of them), 1.6, for words of six letters or more only.
-- The costs only order terms that are all one edit away: the likeliest typo first.
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
            WHEN q.deleted = 0 THEN 0.8
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


-- The vocabulary terms that start with `prefix` (type-ahead: the word is not finished yet), the
-- shortest first, at most `max_terms`, with a cost of 0.45 + 0.1 per missing letter: one or two
-- missing letters rank with the likeliest typos, more after them.
CREATE OR REPLACE FUNCTION public.stocks_search_completions(prefix text, max_terms integer DEFAULT 30)
RETURNS TABLE (term text, cost numeric)
LANGUAGE plpgsql STABLE PARALLEL SAFE STRICT
SET plan_cache_mode = auto
SET search_path = public, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    SELECT v.term, 0.45 + 0.1 * (length(v.term) - length(prefix))
    FROM public.stocks_search_vocabulary AS v
    -- A btree range in byte order (COLLATE "C"): the keys from `prefix` up to, not including,
    -- `prefix` with its last character incremented.
    WHERE v.key >= prefix
      AND v.key < left(prefix, -1) || chr(ascii(right(prefix, 1)) + 1)
      AND v.deleted = 0 AND v.term <> prefix
    ORDER BY length(v.term), v.term
    LIMIT max_terms;
END
$$;
