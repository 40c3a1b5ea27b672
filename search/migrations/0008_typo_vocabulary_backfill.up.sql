-- migrate: no-transaction
-- Typo tolerance, part 2: the index of every stock's terms (the candidates of a corrected
-- query, and the vocabulary trigger's "does another row still have this term" check), then the
-- vocabulary of the rows that existed before 0007's triggers. Outside a transaction so that the
-- application keeps writing: rows written meanwhile are already kept by the triggers, and a term
-- whose last row is deleted during the backfill can at worst stay in the vocabulary (it then
-- finds nothing), never be missing.
-- fastupdate off: with it, new entries wait in a pending list that every search of the index
-- reads through until VACUUM merges it, which made the trigger's check and the typo pass slower
-- with every write (a delete took 3 ms after 2,000 inserts); the table is written rarely.
CREATE INDEX CONCURRENTLY IF NOT EXISTS stocks_terms_idx
    ON public.stocks USING gin (public.stocks_search_terms(ticker, name))
    WITH (fastupdate = off);

INSERT INTO public.stocks_search_vocabulary (key, term, deleted)
SELECT d.key, t.term, d.deleted
FROM (
    SELECT DISTINCT term
    FROM public.stocks AS s,
         unnest(tsvector_to_array(public.stocks_search_terms(s.ticker, s.name))) AS term
) AS t
CROSS JOIN LATERAL public.stocks_search_deletions(t.term) AS d
ON CONFLICT DO NOTHING;

ANALYZE public.stocks_search_vocabulary;
