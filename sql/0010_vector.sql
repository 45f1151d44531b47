-- 0010_vector: embeddings as vector({{vector_dimensions}}) with a {{vector_index}} index (pgvector variant).
-- requires: vector
--
-- Rendered only when vector is on. A fresh vector stack runs it right after the jsonb files; a
-- live jsonb stack switched to vector runs just this file: both embedding columns are converted
-- in place, every row kept. An embedding that is not an array of {{vector_dimensions}} numbers
-- stops the migration before any change, with the offending table and ids in the message
-- (fix or null those rows, then run again). match_goals/match_beliefs keep their names,
-- arguments and result columns and order by the cosine distance (<=>) through the ANN index.

do $$
begin
    if not exists (select from pg_extension where extname = 'vector') then
        create extension vector;
        insert into memory_stack.owned_objects (kind, name) values ('extension', 'vector') on conflict do nothing;
    end if;
end
$$;

do $$
declare
    bad text;
begin
    -- Only while a column is still jsonb, so running this file again is a no-op.
    if (select format_type(atttypid, atttypmod) from pg_attribute
        where attrelid = 'public.goal_assessments'::regclass and attname = 'goal_vector') = 'jsonb' then
        execute $q$
            select format('%s row(s), ids %s%s', count(*),
                          string_agg(id::text, ', ' order by id) filter (where n <= 20),
                          case when count(*) > 20 then ', ...' else '' end)
            from (
                select id, row_number() over (order by id) as n from public.goal_assessments
                where goal_vector is not null
                  and case when jsonb_typeof(goal_vector) = 'array'
                           then jsonb_array_length(goal_vector) <> {{vector_dimensions}}
                                or exists (select from jsonb_array_elements(goal_vector) e where jsonb_typeof(e) <> 'number')
                           else true end
            ) wrong
            having count(*) > 0
        $q$ into bad;
        if bad is not null then
            raise exception 'cannot convert public.goal_assessments.goal_vector to vector({{vector_dimensions}}): not an array of {{vector_dimensions}} numbers in %', bad
                using errcode = 'data_exception',
                      hint = 'fix or null goal_vector in those rows, or set vectorDimensions to their length, then apply again';
        end if;
    end if;
    if (select format_type(atttypid, atttypmod) from pg_attribute
        where attrelid = 'public.belief_graphs'::regclass and attname = 'belief_vector') = 'jsonb' then
        execute $q$
            select format('%s row(s), ids %s%s', count(*),
                          string_agg(id::text, ', ' order by id) filter (where n <= 20),
                          case when count(*) > 20 then ', ...' else '' end)
            from (
                select id, row_number() over (order by id) as n from public.belief_graphs
                where belief_vector is not null
                  and case when jsonb_typeof(belief_vector) = 'array'
                           then jsonb_array_length(belief_vector) <> {{vector_dimensions}}
                                or exists (select from jsonb_array_elements(belief_vector) e where jsonb_typeof(e) <> 'number')
                           else true end
            ) wrong
            having count(*) > 0
        $q$ into bad;
        if bad is not null then
            raise exception 'cannot convert public.belief_graphs.belief_vector to vector({{vector_dimensions}}): not an array of {{vector_dimensions}} numbers in %', bad
                using errcode = 'data_exception',
                      hint = 'fix or null belief_vector in those rows, or set vectorDimensions to their length, then apply again';
        end if;
    end if;
end
$$;

-- The jsonb functions and array checks go first: they are written for jsonb.
drop function if exists public.match_goals(jsonb, integer, uuid);
drop function if exists public.match_beliefs(jsonb, integer, uuid);
alter table public.goal_assessments drop constraint if exists goal_assessments_goal_vector_check;
alter table public.belief_graphs drop constraint if exists belief_graphs_belief_vector_check;

do $$
begin
    if (select format_type(atttypid, atttypmod) from pg_attribute
        where attrelid = 'public.goal_assessments'::regclass and attname = 'goal_vector') = 'jsonb' then
        alter table public.goal_assessments
            alter column goal_vector type vector({{vector_dimensions}}) using goal_vector::text::vector({{vector_dimensions}});
    end if;
    if (select format_type(atttypid, atttypmod) from pg_attribute
        where attrelid = 'public.belief_graphs'::regclass and attname = 'belief_vector') = 'jsonb' then
        alter table public.belief_graphs
            alter column belief_vector type vector({{vector_dimensions}}) using belief_vector::text::vector({{vector_dimensions}});
    end if;
end
$$;

create index if not exists idx_goal_assessments_goal_vector
    on public.goal_assessments using {{vector_index}} (goal_vector vector_cosine_ops);
create index if not exists idx_belief_graphs_belief_vector
    on public.belief_graphs using {{vector_index}} (belief_vector vector_cosine_ops);

-- search_path from current: the operators resolve in the schema pgvector was installed into.
-- plpgsql with execute, not a sql function: before PostgreSQL 18 a sql function that cannot be
-- inlined (the set clause forbids it) is planned without its arguments, so the planner does not
-- see the limit and scans the table instead of the ANN index. execute … using plans each call
-- with the real values.
create or replace function public.match_goals(
    query_embedding vector,
    match_count integer default 10,
    filter_user_id uuid default null
)
returns table (id uuid, user_id uuid, agent_name text, goal_text text, status text, similarity double precision)
language plpgsql
stable
set search_path from current
as $$
begin
    return query execute
        'select g.id, g.user_id, g.agent_name, g.goal_text, g.status, (1 - (g.goal_vector <=> $1))::double precision
         from public.goal_assessments g
         where g.goal_vector is not null'
        || case when filter_user_id is null then '' else ' and g.user_id = $3' end
        || ' order by g.goal_vector <=> $1 limit $2'
        using query_embedding, match_count, filter_user_id;
end
$$;
comment on function public.match_goals(vector, integer, uuid) is
    'Goals most similar to query_embedding (cosine, best first), optionally for one user; vector variant: ANN index on goal_vector.';

create or replace function public.match_beliefs(
    query_embedding vector,
    match_count integer default 10,
    filter_user_id uuid default null
)
returns table (id uuid, user_id uuid, agent_name text, belief_text text, subject text, predicate text, object text,
               confidence double precision, similarity double precision)
language plpgsql
stable
set search_path from current
as $$
begin
    return query execute
        'select b.id, b.user_id, b.agent_name, b.belief_text, b.subject, b.predicate, b.object, b.confidence,
                (1 - (b.belief_vector <=> $1))::double precision
         from public.belief_graphs b
         where b.belief_vector is not null'
        || case when filter_user_id is null then '' else ' and b.user_id = $3' end
        || ' order by b.belief_vector <=> $1 limit $2'
        using query_embedding, match_count, filter_user_id;
end
$$;
comment on function public.match_beliefs(vector, integer, uuid) is
    'Beliefs most similar to query_embedding (cosine, best first), optionally for one user; vector variant: ANN index on belief_vector.';
