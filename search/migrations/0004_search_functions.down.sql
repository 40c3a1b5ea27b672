DROP FUNCTION IF EXISTS public.fuzzy_search_stocks(text, integer);
DROP FUNCTION IF EXISTS public.search_stocks(text, integer);
DROP FUNCTION IF EXISTS public.stocks_search_query(text, boolean);
DROP FUNCTION IF EXISTS public.stocks_search_tokens(text);
