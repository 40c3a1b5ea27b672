-- migrate: no-transaction
-- 0003's full-text GIN indexes were built with fastupdate on (PostgreSQL's default): new entries
-- wait in a pending list that every search through the index reads in full until (auto)vacuum
-- merges it. After 2,000 single-row writes full-text p95 went from 1.3-2.6 ms to 8-9 ms at
-- 100,000 rows (target 5) until VACUUM. stocks is written a few times a day, so each write now
-- updates the index directly, as 0008's terms index already does.
-- One statement per transaction: ALTER INDEX ... SET (fastupdate) takes an ACCESS EXCLUSIVE lock
-- on the index (every query on stocks waits for it), held for a catalogue update only; the
-- migrator's lock_timeout bounds the wait behind a long reader.
ALTER INDEX public.stocks_search_vector_idx SET (fastupdate = off);
ALTER INDEX public.stocks_name_vector_idx SET (fastupdate = off);
-- Switching it off does not merge what is already pending: do it now rather than at the next
-- vacuum (needs the index's owner, the role that ran 0003).
SELECT pg_catalog.gin_clean_pending_list('public.stocks_search_vector_idx'::regclass);
SELECT pg_catalog.gin_clean_pending_list('public.stocks_name_vector_idx'::regclass);
