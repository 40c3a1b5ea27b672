-- migrate: no-transaction
-- CONCURRENTLY so that the application keeps writing while the indexes build; it cannot run in a
-- transaction block, so the migrator runs these one by one in autocommit, with lock_timeout and
-- statement_timeout set, and rebuilds any index a previous failed attempt left INVALID (IF NOT
-- EXISTS alone would skip it).
CREATE INDEX CONCURRENTLY IF NOT EXISTS stocks_search_vector_idx
    ON public.stocks USING gin (search_vector);
-- The ticker-and-name part alone: search_stocks() ranks name matches from this much smaller index
-- first, so that a word or prefix common in descriptions does not make it rank the whole table.
CREATE INDEX CONCURRENTLY IF NOT EXISTS stocks_name_vector_idx
    ON public.stocks USING gin (public.stocks_name_document(ticker, name));

-- Trigram indexes on exactly the expressions fuzzy_search_stocks() compares.
CREATE INDEX CONCURRENTLY IF NOT EXISTS stocks_name_trgm_idx
    ON public.stocks USING gin (lower(public.immutable_unaccent(name)) public.gin_trgm_ops);
CREATE INDEX CONCURRENTLY IF NOT EXISTS stocks_ticker_trgm_idx
    ON public.stocks USING gin (lower(ticker) public.gin_trgm_ops);

-- Exact ticker match (ranked first) and short type-ahead prefixes on ticker and name.
CREATE INDEX CONCURRENTLY IF NOT EXISTS stocks_ticker_lower_idx
    ON public.stocks (lower(ticker) text_pattern_ops);
CREATE INDEX CONCURRENTLY IF NOT EXISTS stocks_name_prefix_idx
    ON public.stocks (lower(public.immutable_unaccent(name)) text_pattern_ops);
