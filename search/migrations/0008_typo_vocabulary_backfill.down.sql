-- migrate: no-transaction
-- The vocabulary's rows go with its table (0007's down step).
DROP INDEX CONCURRENTLY IF EXISTS public.stocks_terms_idx;
