-- migrate: no-transaction
-- Backfill in batches of 1,000 heap pages (about 8 MB), committing after each one, so that no
-- single transaction holds row locks on the whole table or bloats it by a full copy at once.
-- Ranges of ctid (a TID range scan, PostgreSQL 14+) need no particular key column and visit
-- every page once; rows whose vector is already right are skipped, so a re-run is cheap.
DO $$
DECLARE
    pages_per_batch constant bigint := 1000;
    last_page bigint := pg_relation_size('public.stocks') / current_setting('block_size')::bigint;
    first_page bigint := 0;
BEGIN
    WHILE first_page <= last_page LOOP
        UPDATE public.stocks AS s
        SET search_vector = public.stocks_search_document(
            s.ticker, s.name, s.sector, s.industry, s.description
        )
        WHERE s.ctid >= format('(%s,0)', first_page)::tid
          AND s.ctid < format('(%s,0)', first_page + pages_per_batch)::tid
          AND s.search_vector IS DISTINCT FROM public.stocks_search_document(
              s.ticker, s.name, s.sector, s.industry, s.description
          );
        COMMIT;
        first_page := first_page + pages_per_batch;
    END LOOP;
END
$$;
