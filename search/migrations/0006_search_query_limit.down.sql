-- 0004's tokenizer, with 0005's pinned search_path.
CREATE OR REPLACE FUNCTION public.stocks_search_tokens(query text)
RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = public, pg_temp
AS $$
    SELECT coalesce(array_agg(token), '{}')
    FROM regexp_split_to_table(
        lower(public.immutable_unaccent(coalesce(query, ''))), '[^[:alnum:]]+'
    ) AS token
    WHERE token <> ''
$$;
