-- 0018_similarity_jsonb_edges: the jsonb variant's derivation for embeddings at the edges of double precision, and a
-- clear error for a query that is not an embedding.
--
-- 0013's embedding_derived squared every value in double precision, and PostgreSQL raises where a square underflows
-- or overflows: one value below about 1e-154 in magnitude (1e-200, a denormal such as 1e-320) or above about 1e154
-- made the whole embedding unusable, so match_* skipped a row whose direction is plain, and a query so made matched
-- nothing. Such an embedding is now divided by its largest magnitude first (values under 1e-100 of it, which no
-- double beside it can hold, count as zero). Every other embedding is derived exactly as before, so copies written
-- before this file and after it stay equal for equal embeddings.
--
-- A query_embedding that is not a non-empty flat array of numbers in double precision's range (a json string such
-- as a twice-encoded '"[0.1, …]"', an object, [], nested arrays, null elements) matched nothing without a word,
-- where the vector variant refuses it: embedding_derived now raises invalid_parameter_value for it, which
-- match_goals and match_beliefs pass on. The trigger catches that error and marks such a row's embedding unusable
-- as before (signs empty, skipped by match_*): a write is never refused for its embedding. A query of norm zero
-- still matches nothing.
--
-- memory_stack.derive_only (0013), which keeps updated_at for a backfill, now keeps it only for an update that changes
-- nothing but the derived columns: any role may set the setting, and an application that set it moved no updated_at
-- with its own updates.
--
-- The derivation triggers now fire in every session (enable always): with session_replication_role = replica (logical
-- replication's apply, a restore or a bulk load that sets it to skip foreign key checks) they did not, and an embedding
-- updated so kept its old copy, which match_* then ranked; verification can count rows without a copy, not stale ones.
--
-- The rows 0013's function found unusable (signs empty) are derived again at the end, updated_at kept.
-- As in 0013, the functions are created at the top level (verification proves their bodies) and dropped again where
-- the embeddings are vector(N) already; embedding_search is not replaced here, since verification knows one body per
-- function name and the vector variant's embedding_search (0017) shares it.

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
    problem text;
    numbers double precision[];
    largest double precision;
    smallest double precision;
    norm double precision;
    median double precision;
begin
    if embedding is null then
        return;
    end if;
    text_form := embedding::text;
    problem := case
        when jsonb_typeof(embedding) <> 'array' then 'a json ' || jsonb_typeof(embedding)
        when jsonb_array_length(embedding) = 0 then 'empty'
        when strpos(text_form, '"') > 0 then 'an array holding a string or an object'
    end;
    if problem is null then
        begin
            numbers := translate(text_form, '[]', '{}')::double precision[];
        exception when data_exception then
            problem := 'an array holding a value that is no number, or out of double precision''s range';
        end;
    end if;
    if problem is null and (array_ndims(numbers) is distinct from 1 or array_position(numbers, null) is not null) then
        problem := 'a nested array, or one holding a null';
    end if;
    if problem is not null then
        raise exception 'an embedding must be a non-empty flat json array of numbers, not %', problem
            using errcode = 'invalid_parameter_value', hint = 'pass it as text like ''[0.013, -0.021]''';
    end if;
    signs := b'';
    select max(abs(x)), min(abs(x)) filter (where x <> 0) into largest, smallest from unnest(numbers) as x;
    if not largest > 0 then
        return; -- norm zero: no direction
    end if;
    if smallest < 1e-150 or largest > 1e150 then
        -- A square would leave double precision: scale by the largest magnitude, raised first so that neither
        -- the product nor the quotient underflows.
        if largest < 1e-200 then
            numbers := array(select x * 1e200 from unnest(numbers) with ordinality as n (x, i) order by i);
            largest := largest * 1e200;
        end if;
        numbers := array(select case when abs(x) < largest * 1e-100 then 0 else x / largest end
                         from unnest(numbers) with ordinality as n (x, i) order by i);
    end if;
    norm := sqrt((select sum(x * x) from unnest(numbers) as x));
    select percentile_disc(0.5) within group (order by abs(x)) into median from unnest(numbers) as x;
    select array_agg(case when abs(x / norm) < 1e-37 then 0 else (x / norm)::real end order by i),
           string_agg(case when x > 0 then '1' else '0' end, '' order by i)::bit varying,
           string_agg(case when abs(x) > median then '1' else '0' end, '' order by i)::bit varying
      into unit, signs, magnitudes
      from unnest(numbers) with ordinality as n (x, i);
end
$$;
comment on function public.embedding_derived(jsonb) is
    'An embedding at unit length (real[]), its sign bits and its above-median magnitude bits; signs empty and the others null for norm zero, all null for null; invalid_parameter_value when it is not a non-empty flat array of numbers.';

create or replace function public.derive_embedding_columns()
returns trigger
language plpgsql
set search_path = ''
as $$
declare
    embedding text := case tg_table_name when 'goal_assessments' then 'goal_vector' else 'belief_vector' end;
    derived text[] := array[embedding || '_unit', embedding || '_signs', embedding || '_magnitudes', 'updated_at'];
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
            begin
                select d.unit, d.signs, d.magnitudes into new.goal_vector_unit, new.goal_vector_signs, new.goal_vector_magnitudes
                from public.embedding_derived(new.goal_vector) d;
            exception when invalid_parameter_value then
                new.goal_vector_unit := null;
                new.goal_vector_signs := b'';
                new.goal_vector_magnitudes := null;
            end;
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
            begin
                select d.unit, d.signs, d.magnitudes into new.belief_vector_unit, new.belief_vector_signs, new.belief_vector_magnitudes
                from public.embedding_derived(new.belief_vector) d;
            exception when invalid_parameter_value then
                new.belief_vector_unit := null;
                new.belief_vector_signs := b'';
                new.belief_vector_magnitudes := null;
            end;
        end if;
    end if;
    -- Only for an update that changes nothing but the derived columns: the setting is anyone's to set.
    if tg_op = 'UPDATE' and current_setting('memory_stack.derive_only', true) = 'on'
       and to_jsonb(new) - derived = to_jsonb(old) - derived then
        new.updated_at := old.updated_at;
    end if;
    return new;
end
$$;
comment on function public.derive_embedding_columns() is
    'Trigger function: keeps <embedding>_unit, _signs and _magnitudes true to goal_vector / belief_vector.';

-- The rows the old derivation gave up on, derived again (most stay unusable: strings, objects, norm zero).
set local memory_stack.derive_only = on;

do $$
begin
    -- Only where it fires as created: a trigger someone disabled, or set to replica only, stays as verification reports it.
    if exists (select from pg_trigger where tgrelid = 'public.goal_assessments'::regclass and tgname = 'update_goal_vector_derived'
               and tgenabled = 'O') then
        alter table public.goal_assessments enable always trigger update_goal_vector_derived;
    end if;
    if exists (select from pg_trigger where tgrelid = 'public.belief_graphs'::regclass and tgname = 'update_belief_vector_derived'
               and tgenabled = 'O') then
        alter table public.belief_graphs enable always trigger update_belief_vector_derived;
    end if;
    if exists (select from pg_attribute where attrelid = 'public.goal_assessments'::regclass
               and attname = 'goal_vector_signs' and not attisdropped) then
        update public.goal_assessments set goal_vector_signs = null where goal_vector is not null and goal_vector_signs = b'';
    end if;
    if exists (select from pg_attribute where attrelid = 'public.belief_graphs'::regclass
               and attname = 'belief_vector_signs' and not attisdropped) then
        update public.belief_graphs set belief_vector_signs = null where belief_vector is not null and belief_vector_signs = b'';
    end if;
end
$$;

reset memory_stack.derive_only;

-- On a stack whose embeddings are vector(N) already, nothing of the above stays (0017 dropped 0013's).
do $$
begin
    if not exists (select from pg_trigger where (tgrelid, tgname) in (('public.goal_assessments'::regclass, 'update_goal_vector_derived'),
                                                                      ('public.belief_graphs'::regclass, 'update_belief_vector_derived'))) then
        drop function public.derive_embedding_columns();
        drop function public.embedding_derived(jsonb);
    end if;
end
$$;
