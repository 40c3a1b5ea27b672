-- migrate: no-transaction
DROP INDEX CONCURRENTLY IF EXISTS public.stocks_name_prefix_idx;
DROP INDEX CONCURRENTLY IF EXISTS public.stocks_ticker_lower_idx;
DROP INDEX CONCURRENTLY IF EXISTS public.stocks_ticker_trgm_idx;
DROP INDEX CONCURRENTLY IF EXISTS public.stocks_name_trgm_idx;
DROP INDEX CONCURRENTLY IF EXISTS public.stocks_name_vector_idx;
DROP INDEX CONCURRENTLY IF EXISTS public.stocks_search_vector_idx;
