-- 0015_vector_expand: the first half of the switch of the embeddings to vector({{vector_dimensions}}), run while the application keeps working.
-- requires: vector
--
-- It replaces the retired 0010_vector, which converted both columns in place under an ACCESS
-- EXCLUSIVE lock held for the whole conversion (every query on the tables waited, for minutes on a
-- big table). Here the engine runs the steps below one by one (docs/migrations.md), each short:
--   precheck        names every embedding of both tables that cannot become vector({{vector_dimensions}}); nothing changes yet
--   expand          a twin column <embedding>_new vector({{vector_dimensions}}) beside each
--                   jsonb column, and a trigger that converts every write into the twin
--   backfill_*      converts the rows that were there before, in short transactions of $2 rows (the engine
--                   sizes them to take about a fifth of lock_timeout)
--   index_*         builds the {{vector_index}} index on the twin with create index concurrently
-- 0016_vector_contract then swaps the columns, one short transaction per table. Where the
-- embeddings are vector already (a stack that ran 0010_vector) every step finds nothing to do.
-- The twins, the triggers and the memory_stack.vector_switch_* functions exist only during the
-- switch; rollback.sql removes them from a switch that never finished.

-- step: precheck
-- The extension comes first: the check is the conversion itself. If the check fails, the extension
-- goes again with the rest of this step.
do $$
begin
    if not exists (select from pg_extension where extname = 'vector') then
        create extension vector;
        insert into memory_stack.owned_objects (kind, name) values ('extension', 'vector') on conflict do nothing;
    end if;
end
$$;

-- Why an embedding cannot become vector({{vector_dimensions}}): null when it can. The conversion decides (the
-- text of the jsonb, read as a vector, as the switch stores it; above 2000 dimensions also as the
-- halfvec the index holds); the rest only explains a failure, for the few rows that fail.
-- search_path from current: the vector type resolves in the schema pgvector was installed into.
create or replace function memory_stack.vector_switch_problem(embedding jsonb)
returns text
language plpgsql
immutable
set search_path from current
as $$
declare
    limit_abs constant numeric := case when '{{vector_ann_cast}}' = '' then 3.4028234663852886e38 else 65504 end;
    element jsonb;
    position bigint;
    failure text;
begin
    if embedding is null then
        return null;
    end if;
    begin
        perform embedding::text::vector({{vector_dimensions}}){{vector_ann_cast}};
        return null;
    exception when others then
        failure := sqlerrm;
    end;
    if jsonb_typeof(embedding) <> 'array' then
        return format('a json %s, not an array', jsonb_typeof(embedding));
    elsif jsonb_array_length(embedding) <> {{vector_dimensions}} then
        return format('%s elements, not {{vector_dimensions}}', jsonb_array_length(embedding));
    end if;
    select e, n into element, position
    from jsonb_array_elements(embedding) with ordinality as x (e, n)
    where case when jsonb_typeof(e) <> 'number' then true else abs(e::numeric) > limit_abs end
    order by n
    limit 1;
    if element is null then
        return failure;
    elsif jsonb_typeof(element) <> 'number' then
        return format('element %s is a json %s, not a number', position, jsonb_typeof(element));
    end if;
    return format('element %s = %s is out of range for %s', position,
                  case when abs(element::numeric) < 1e300 then (element::numeric)::float8::text else left(element::text, 12) || '…' end,
                  case when '{{vector_ann_cast}}' = '' then 'vector (float4)' else 'the halfvec index (at most 65504)' end);
end
$$;
revoke all on function memory_stack.vector_switch_problem(jsonb) from public;

do $$
declare
    target record;
    found bigint;
    listed text;
    report text := '';
    more text := '';
    total bigint := 0;
    limit_abs constant text := case when '{{vector_ann_cast}}' = '' then '3.4028234663852886e38' else '65504' end;
begin
    for target in
        select * from (values ('public.goal_assessments', 'goal_vector'), ('public.belief_graphs', 'belief_vector')) as t (tbl, col)
    loop
        -- Only while the column is still jsonb: where the switch is done this step has nothing to check.
        continue when not exists (select from pg_attribute where attrelid = target.tbl::regclass and attname = target.col
                                  and atttypid = 'jsonb'::regtype and not attisdropped);
        execute format($q$
            select count(*), string_agg(format('%%s (%%s)', id, problem), ', ' order by id) filter (where n <= 1000)
            from (select id, problem, row_number() over (order by id) as n
                  from (select id, memory_stack.vector_switch_problem(%1$I) as problem from %2$s where %1$I is not null) checked
                  where problem is not null) bad
        $q$, target.col, target.tbl) into found, listed;
        if found > 0 then
            total := total + found;
            report := report || format(E'\n%s.%s, %s row(s): %s%s', target.tbl, target.col, found, listed,
                                       case when found > 1000 then ', … (the first 1000 by id)' else '' end);
            if found > 1000 then
                more := more || format(E'\nselect id from %s where %I is not null and case when jsonb_typeof(%I) = ''array'' '
                                       'then jsonb_array_length(%I) <> {{vector_dimensions}} or jsonb_path_exists(%I, ''$[*] ? (@.type() != "number" || @ > %s || @ < -%s)'') else true end;',
                                       target.tbl, target.col, target.col, target.col, target.col, limit_abs, limit_abs);
            end if;
        end if;
    end loop;
    if total > 0 then
        raise exception 'cannot switch the embeddings to vector({{vector_dimensions}}): % row(s) hold an embedding that is not an array of {{vector_dimensions}} numbers in range; nothing was changed', total
            using errcode = 'data_exception',
                  detail = ltrim(report, E'\n'),
                  hint = 'fix or null the embeddings of those rows (or set vectorDimensions to their length), then apply again'
                         || case when more = '' then '' else '; to list every one (the first 1000 per table are named above):' || more end;
    end if;
end
$$;

-- step: expand
-- The one conversion both the trigger and the backfill use, the precheck's; an embedding it cannot
-- convert (written after the precheck) fails naming the row.
create or replace function memory_stack.vector_switch_value(embedding jsonb, source text, row_id uuid)
returns vector
language plpgsql
immutable
strict
set search_path from current
as $$
declare
    converted vector;
begin
    converted := embedding::text::vector({{vector_dimensions}});
    perform converted{{vector_ann_cast}};
    return converted;
exception when others then
    raise exception 'cannot convert the embedding of % row % to vector({{vector_dimensions}}): %', source, row_id,
        coalesce(memory_stack.vector_switch_problem(embedding), sqlerrm)
        using errcode = 'data_exception', hint = 'fix or null that embedding, then apply again';
end
$$;
revoke all on function memory_stack.vector_switch_value(jsonb, text, uuid) from public;

-- The triggers keep each twin equal to its jsonb column for every writer. They fire after
-- update_*_updated_at (triggers fire in name order), so when only the twin was filled in — the
-- backfill, never the application, which does not know the twin — they keep updated_at as it was.
-- Security definer: the application's roles cannot reach schema memory_stack, the owner can.
create or replace function memory_stack.vector_switch_sync_goal_vector()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
    if tg_op <> 'UPDATE' or new.goal_vector is distinct from old.goal_vector then
        new.goal_vector_new := memory_stack.vector_switch_value(new.goal_vector, 'public.goal_assessments', new.id);
    elsif old.goal_vector_new is null and new.goal_vector_new is not null then
        new.updated_at := old.updated_at;
    end if;
    return new;
end
$$;
revoke all on function memory_stack.vector_switch_sync_goal_vector() from public;

create or replace function memory_stack.vector_switch_sync_belief_vector()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
    if tg_op <> 'UPDATE' or new.belief_vector is distinct from old.belief_vector then
        new.belief_vector_new := memory_stack.vector_switch_value(new.belief_vector, 'public.belief_graphs', new.id);
    elsif old.belief_vector_new is null and new.belief_vector_new is not null then
        new.updated_at := old.updated_at;
    end if;
    return new;
end
$$;
revoke all on function memory_stack.vector_switch_sync_belief_vector() from public;

-- Adding a nullable column and a trigger are catalog changes: the locks they take last milliseconds.
do $$
begin
    if exists (select from pg_attribute where attrelid = 'public.goal_assessments'::regclass and attname = 'goal_vector'
               and atttypid = 'jsonb'::regtype and not attisdropped) then
        alter table public.goal_assessments add column if not exists goal_vector_new vector({{vector_dimensions}});
        create or replace trigger vector_switch_sync before insert or update on public.goal_assessments
            for each row execute function memory_stack.vector_switch_sync_goal_vector();
    end if;
    if exists (select from pg_attribute where attrelid = 'public.belief_graphs'::regclass and attname = 'belief_vector'
               and atttypid = 'jsonb'::regtype and not attisdropped) then
        alter table public.belief_graphs add column if not exists belief_vector_new vector({{vector_dimensions}});
        create or replace trigger vector_switch_sync before insert or update on public.belief_graphs
            for each row execute function memory_stack.vector_switch_sync_belief_vector();
    end if;
end
$$;

-- step: backfill_goals batched
-- The rows to do (0 where the switch is done), then one batch: the next $2 ids after $1 (the last id
-- of the batch before), converting those the trigger has not converted yet.
select count(*) from public.goal_assessments
where exists (select from pg_attribute where attrelid = 'public.goal_assessments'::regclass and attname = 'goal_vector_new' and not attisdropped);
with batch as (
    select id from public.goal_assessments where $1::uuid is null or id > $1::uuid order by id limit $2
), converted as (
    update public.goal_assessments g
    set goal_vector_new = memory_stack.vector_switch_value(g.goal_vector, 'public.goal_assessments', g.id)
    from batch
    where g.id = batch.id and g.goal_vector is not null and g.goal_vector_new is null
)
select id from batch order by id;

-- step: backfill_beliefs batched
select count(*) from public.belief_graphs
where exists (select from pg_attribute where attrelid = 'public.belief_graphs'::regclass and attname = 'belief_vector_new' and not attisdropped);
with batch as (
    select id from public.belief_graphs where $1::uuid is null or id > $1::uuid order by id limit $2
), converted as (
    update public.belief_graphs b
    set belief_vector_new = memory_stack.vector_switch_value(b.belief_vector, 'public.belief_graphs', b.id)
    from batch
    where b.id = batch.id and b.belief_vector is not null and b.belief_vector_new is null
)
select id from batch order by id;

-- step: index_goals no transaction
-- Built on the twin under its final name: the index follows the column when 0016 renames it.
select exists (select from pg_attribute where attrelid = 'public.goal_assessments'::regclass and attname = 'goal_vector_new' and not attisdropped);
create index concurrently if not exists idx_goal_assessments_goal_vector
    on public.goal_assessments using {{vector_index}} ((goal_vector_new{{vector_ann_cast}}) {{vector_ann_ops}});

-- step: index_beliefs no transaction
select exists (select from pg_attribute where attrelid = 'public.belief_graphs'::regclass and attname = 'belief_vector_new' and not attisdropped);
create index concurrently if not exists idx_belief_graphs_belief_vector
    on public.belief_graphs using {{vector_index}} ((belief_vector_new{{vector_ann_cast}}) {{vector_ann_ops}});
