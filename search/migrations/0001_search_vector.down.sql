DROP TRIGGER IF EXISTS stocks_search_vector_refresh ON public.stocks;
DROP FUNCTION IF EXISTS public.stocks_search_vector_refresh();
ALTER TABLE public.stocks DROP COLUMN IF EXISTS search_vector;
DROP FUNCTION IF EXISTS public.stocks_search_document(text, text, text, text, text);
DROP FUNCTION IF EXISTS public.stocks_name_document(text, text);
DROP FUNCTION IF EXISTS public.immutable_unaccent(text);
