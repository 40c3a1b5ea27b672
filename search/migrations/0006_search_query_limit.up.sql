-- Refuse search input longer than 256 characters with a clear error (SQLSTATE 22023,
-- invalid_parameter_value) instead of working through it: tens of thousands of words build a
-- tsquery deep enough to end in "stack depth limit exceeded". 256 is above the longest value the
-- functions compare (stocks.name is varchar(255), so a pasted full name always fits) and far below
-- where PostgreSQL runs out of stack (measured: 15,000 characters of two-letter words work, 60,000
-- do not). The check sits in the tokenizer because every entry point calls it first:
-- search_stocks, fuzzy_search_stocks and stocks_search_query all start with it in DECLARE.
CREATE OR REPLACE FUNCTION public.stocks_search_tokens(query text)
RETURNS text[]
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = public, pg_temp
AS $$
BEGIN
    IF length(query) > 256 THEN
        RAISE EXCEPTION 'search query too long: % characters, at most 256', length(query)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN (
        SELECT coalesce(array_agg(token), '{}')
        FROM regexp_split_to_table(
            lower(public.immutable_unaccent(coalesce(query, ''))), '[^[:alnum:]]+'
        ) AS token
        WHERE token <> ''
    );
END
$$;
