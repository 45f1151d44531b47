-- 0013_similarity_derived: a compact copy of every jsonb embedding, kept true by the database itself.
--
-- goal_vector and belief_vector stay the jsonb arrays the application writes. Beside each, a
-- trigger keeps three derived columns for every writer (insert, update, copy; whoever writes them
-- directly gets them recomputed):
--   <embedding>_unit        real[]       the embedding scaled to unit length: cosine is a dot product;
--   <embedding>_signs       bit varying  one bit per dimension, 1 where the value is positive, so the
--                                        Hamming distance bit_count(a # b) ranks every row cheaply;
--   <embedding>_magnitudes  bit varying  one bit per dimension, 1 where the value's magnitude is above
--                                        the embedding's median: with the signs, two bits per value
--                                        for a finer ranking of the Hamming pass's best rows.
-- A null embedding leaves all three null. An embedding match_* cannot use (not a flat array of
-- numbers, empty, norm zero or out of range) gets signs '' (empty) and the others null: skipped
-- by match_* as before, and not taken for a row the backfill has yet to derive (embedding set,
-- signs null).
-- Not generated columns: those must be immutable (the jsonb to array cast is not) and adding one
-- rewrites the table under an exclusive lock; a nullable column without default changes no row.
--
-- Only where the embedding is jsonb: on a stack whose columns are vector(N) already (it ran the
-- old vector migration) no column is added and what the file creates is dropped again at its end.
-- The functions and triggers are created at the top level all the same, so that verification can
-- prove their bodies (engine/verify/fingerprints.ts reads top-level statements only).
--
-- The rows already there are derived by 0014, once this file's brief table locks are released.
-- The derivation trigger is named to fire after update_<table>_updated_at (same table, same
-- timing: PostgreSQL fires them in name order), so that backfill can keep updated_at as it was
-- (memory_stack.derive_only): a row whose embedding is merely derived was not updated by anyone. It declares no column
-- list, which would pin the embedding's type (the switch to vector changes it), and returns at
-- once when nothing of the embedding changed.

do $$
begin
    if (select format_type(atttypid, atttypmod) from pg_attribute
        where attrelid = 'public.goal_assessments'::regclass and attname = 'goal_vector' and not attisdropped) = 'jsonb' then
        alter table public.goal_assessments add column if not exists goal_vector_unit real[];
        alter table public.goal_assessments add column if not exists goal_vector_signs bit varying;
        alter table public.goal_assessments add column if not exists goal_vector_magnitudes bit varying;
        -- Float values do not compress: no attempt on every write.
        alter table public.goal_assessments alter column goal_vector_unit set storage external;
        comment on column public.goal_assessments.goal_vector_unit is
            'Derived from goal_vector by the database (trigger update_goal_vector_derived): the embedding at unit length; null when unusable. Do not write.';
        comment on column public.goal_assessments.goal_vector_signs is
            'Derived from goal_vector by the database (trigger update_goal_vector_derived): sign bits for match_goals'' Hamming pass; empty when unusable. Do not write.';
        comment on column public.goal_assessments.goal_vector_magnitudes is
            'Derived from goal_vector by the database (trigger update_goal_vector_derived): 1 where a value''s magnitude is above the median; null when unusable. Do not write.';
    end if;
    if (select format_type(atttypid, atttypmod) from pg_attribute
        where attrelid = 'public.belief_graphs'::regclass and attname = 'belief_vector' and not attisdropped) = 'jsonb' then
        alter table public.belief_graphs add column if not exists belief_vector_unit real[];
        alter table public.belief_graphs add column if not exists belief_vector_signs bit varying;
        alter table public.belief_graphs add column if not exists belief_vector_magnitudes bit varying;
        alter table public.belief_graphs alter column belief_vector_unit set storage external;
        comment on column public.belief_graphs.belief_vector_unit is
            'Derived from belief_vector by the database (trigger update_belief_vector_derived): the embedding at unit length; null when unusable. Do not write.';
        comment on column public.belief_graphs.belief_vector_signs is
            'Derived from belief_vector by the database (trigger update_belief_vector_derived): sign bits for match_beliefs'' Hamming pass; empty when unusable. Do not write.';
        comment on column public.belief_graphs.belief_vector_magnitudes is
            'Derived from belief_vector by the database (trigger update_belief_vector_derived): 1 where a value''s magnitude is above the median; null when unusable. Do not write.';
    end if;
end
$$;

-- Parsing the text form is the fast way from jsonb to numbers (one cast instead of one per
-- element). A '"' anywhere means a string element; the array cast rejects true, false and
-- objects; nested arrays and nulls are checked after it. Values too small for real are zero.
create or replace function public.embedding_derived(
    embedding jsonb,
    out unit real[],
    out signs bit varying,
    out magnitudes bit varying
)
language plpgsql
immutable
parallel safe
set search_path = ''
as $$
declare
    text_form text;
    numbers double precision[];
    norm double precision;
    median double precision;
begin
    if embedding is null then
        return;
    end if;
    signs := b'';
    if jsonb_typeof(embedding) <> 'array' then
        return;
    end if;
    text_form := embedding::text;
    if strpos(text_form, '"') > 0 then
        return;
    end if;
    numbers := translate(text_form, '[]', '{}')::double precision[];
    if cardinality(numbers) = 0 or array_ndims(numbers) <> 1 or array_position(numbers, null) is not null then
        return;
    end if;
    norm := sqrt((select sum(x * x) from unnest(numbers) as x));
    if not (norm > 0 and norm < 'Infinity') then
        return;
    end if;
    select percentile_disc(0.5) within group (order by abs(x)) into median from unnest(numbers) as x;
    select array_agg(case when abs(x / norm) < 1e-37 then 0 else (x / norm)::real end order by i),
           string_agg(case when x > 0 then '1' else '0' end, '' order by i)::bit varying,
           string_agg(case when abs(x) > median then '1' else '0' end, '' order by i)::bit varying
      into unit, signs, magnitudes
      from unnest(numbers) with ordinality as n (x, i);
exception when data_exception then
    -- a value the array cast refuses, or one whose square overflows
    unit := null;
    signs := b'';
    magnitudes := null;
end
$$;
comment on function public.embedding_derived(jsonb) is
    'An embedding at unit length (real[]), its sign bits and its above-median magnitude bits; signs empty and the others null when it is not a non-zero flat array of numbers, all null for null.';

create or replace function public.derive_embedding_columns()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
    if tg_table_name = 'goal_assessments' then
        if pg_typeof(new.goal_vector) <> 'jsonb'::regtype then
            new.goal_vector_unit := null;
            new.goal_vector_signs := null;
            new.goal_vector_magnitudes := null;
        elsif tg_op <> 'UPDATE'
           or new.goal_vector is distinct from old.goal_vector
           or new.goal_vector_unit is distinct from old.goal_vector_unit
           or new.goal_vector_signs is distinct from old.goal_vector_signs
           or new.goal_vector_magnitudes is distinct from old.goal_vector_magnitudes
           or (new.goal_vector is not null and new.goal_vector_signs is null) then
            select d.unit, d.signs, d.magnitudes into new.goal_vector_unit, new.goal_vector_signs, new.goal_vector_magnitudes
            from public.embedding_derived(new.goal_vector) d;
        end if;
    elsif tg_table_name = 'belief_graphs' then
        if pg_typeof(new.belief_vector) <> 'jsonb'::regtype then
            new.belief_vector_unit := null;
            new.belief_vector_signs := null;
            new.belief_vector_magnitudes := null;
        elsif tg_op <> 'UPDATE'
           or new.belief_vector is distinct from old.belief_vector
           or new.belief_vector_unit is distinct from old.belief_vector_unit
           or new.belief_vector_signs is distinct from old.belief_vector_signs
           or new.belief_vector_magnitudes is distinct from old.belief_vector_magnitudes
           or (new.belief_vector is not null and new.belief_vector_signs is null) then
            select d.unit, d.signs, d.magnitudes into new.belief_vector_unit, new.belief_vector_signs, new.belief_vector_magnitudes
            from public.embedding_derived(new.belief_vector) d;
        end if;
    end if;
    if tg_op = 'UPDATE' and current_setting('memory_stack.derive_only', true) = 'on' then
        new.updated_at := old.updated_at;
    end if;
    return new;
end
$$;
comment on function public.derive_embedding_columns() is
    'Trigger function: keeps <embedding>_unit, _signs and _magnitudes true to goal_vector / belief_vector.';

create or replace trigger update_goal_vector_derived
    before insert or update on public.goal_assessments
    for each row execute function public.derive_embedding_columns();
create or replace trigger update_belief_vector_derived
    before insert or update on public.belief_graphs
    for each row execute function public.derive_embedding_columns();

-- On a stack whose embeddings are vector(N) already, nothing of the above stays.
do $$
begin
    if not exists (select from pg_attribute where attrelid = 'public.goal_assessments'::regclass
                   and attname = 'goal_vector_signs' and not attisdropped) then
        drop trigger if exists update_goal_vector_derived on public.goal_assessments;
    end if;
    if not exists (select from pg_attribute where attrelid = 'public.belief_graphs'::regclass
                   and attname = 'belief_vector_signs' and not attisdropped) then
        drop trigger if exists update_belief_vector_derived on public.belief_graphs;
    end if;
    if not exists (select from pg_trigger where (tgrelid, tgname) in (('public.goal_assessments'::regclass, 'update_goal_vector_derived'),
                                                                      ('public.belief_graphs'::regclass, 'update_belief_vector_derived'))) then
        drop function public.derive_embedding_columns();
        drop function public.embedding_derived(jsonb);
    end if;
end
$$;
