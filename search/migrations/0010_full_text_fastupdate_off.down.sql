-- migrate: no-transaction
ALTER INDEX public.stocks_search_vector_idx RESET (fastupdate);
ALTER INDEX public.stocks_name_vector_idx RESET (fastupdate);
