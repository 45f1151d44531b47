-- 0017_similarity_vector: match_goals and match_beliefs for vector({{vector_dimensions}}), with the signature of 0014.
-- requires: vector
--
-- Runs once the embeddings are vector({{vector_dimensions}}). The application calls the same
-- functions with the same arguments as in the jsonb variant and gets the same ids in the same order
-- (exact answers; the index may differ in the last places):
--   match_goals(query_embedding, match_count integer default 10, filter_user_id uuid default null,
--               candidates integer default null, exact boolean default false)
--   match_beliefs(…the same…)
-- candidates is this call's hnsw.ef_search (at least match_count, at most 1000), or its
-- ivfflat.probes; null leaves the session's value: the stack's (memory-stack sets it on the
-- database) or pgvector's default. exact => true scans every row, without the index.
--
-- How (embedding_search, shared by both): the ANN index orders by cosine distance
-- (goal_vector{{vector_ann_cast}} <=> query, the expression the index is built on); the planner may
-- not read the table instead (enable_seqscan off): pgvector's estimate grows with ef_search and
-- prices a distance like an addition, so from ef_search 100 it picks an exact scan that takes a
-- second at 100,000 rows where the index takes milliseconds. A user_id index stays a choice for a
-- filter that keeps few rows. pgvector 0.8's iterative scan (relaxed_order) lets a filter on one
-- user, or row level security, still fill match_count rows; the distance is computed once per
-- returned row and those rows are sorted again by it. When the index still gives fewer rows than
-- asked (its scan limit reached on a very selective filter), the exact scan answers instead:
-- match_count rows come back whenever that many visible rows exist. An embedding of norm zero has
-- no cosine and is skipped (pgvector's index leaves it out; the exact scan skips its NaN); a query
-- of another length or norm zero matches nothing.
--
-- What 0013/0014 made for jsonb embeddings goes, if it is there: the derived columns, their
-- trigger and functions, and the jsonb match_*. The grants of the match_* being replaced are
-- copied to the new ones; the swap is one transaction.

do $$
begin
    -- Loading the library defines its settings; iterative scans came with pgvector 0.8.0.
    perform '[1]'::vector;
    if not exists (select from pg_settings where name = 'hnsw.iterative_scan') then
        raise exception 'match_goals and match_beliefs need pgvector 0.8.0 or newer (iterative index scans); this server has %',
            (select 'pgvector ' || extversion from pg_extension where extname = 'vector')
            using errcode = 'feature_not_supported',
                  hint = 'use a pgvector 0.8 image (pgvector/pgvector:pg15 or pgvector/pgvector:0.8.0-pg15), then apply again';
    end if;
end
$$;

create or replace function public.embedding_search(
    target text,
    query_embedding vector,
    match_count integer,
    filter_user_id uuid,
    candidates integer,
    exact boolean
)
returns table (id uuid, similarity double precision)
language plpgsql
stable
rows 10
set search_path from current
set hnsw.iterative_scan = relaxed_order
set ivfflat.iterative_scan = relaxed_order
set enable_seqscan = off
as $$
declare
    embedding text := case target when 'goal_assessments' then 'goal_vector' when 'belief_graphs' then 'belief_vector' end;
    user_filter text := case when filter_user_id is null then '' else 'and t.user_id = $3' end;
    ids uuid[];
    similarities double precision[];
    ef_search text := current_setting('hnsw.ef_search');
    probes text := current_setting('ivfflat.probes');
begin
    if embedding is null then
        raise exception 'embedding_search: target must be goal_assessments or belief_graphs, not %', coalesce(target, 'null')
            using errcode = 'invalid_parameter_value';
    end if;
    if match_count is null or match_count < 0 then
        raise exception 'match_count must be 0 or more, not %', coalesce(match_count::text, 'null')
            using errcode = 'invalid_parameter_value';
    end if;
    if candidates < 1 then
        raise exception 'candidates must be 1 or more, not %', candidates
            using errcode = 'invalid_parameter_value', hint = 'leave it out (null) for the stack''s hnsw.ef_search or ivfflat.probes';
    end if;
    if query_embedding is null or match_count = 0 or vector_dims(query_embedding) <> {{vector_dimensions}}
       or vector_norm(query_embedding) = 0 then
        return;
    end if;

    if not exact then
        -- For this call only: set here, restored below (a set clause would fix one value for every call).
        if candidates is not null then
            perform set_config('hnsw.ef_search', least(greatest(candidates, match_count), 1000)::text, true);
            perform set_config('ivfflat.probes', least(candidates, 32768)::text, true);
        end if;
        execute format(
            'select array_agg(s.id order by s.distance, s.id), array_agg(1 - s.distance order by s.distance, s.id)
             from (
                 select t.id, t.%2$I <=> $1 as distance
                 from public.%1$I t
                 where t.%2$I is not null %3$s
                 order by t.%2$I{{vector_ann_cast}} <=> $1{{vector_ann_cast}}
                 limit $2
             ) s
             where s.distance <> ''NaN''',
            target, embedding, user_filter)
        into ids, similarities
        using query_embedding, match_count, filter_user_id;
        if candidates is not null then
            perform set_config('hnsw.ef_search', ef_search, true), set_config('ivfflat.probes', probes, true);
        end if;
        if coalesce(cardinality(ids), 0) >= match_count then
            return query select * from unnest(ids, similarities);
            return;
        end if;
    end if;

    return query execute format(
        'with scored as materialized (
             select t.id, t.%2$I <=> $1 as distance
             from public.%1$I t
             where t.%2$I is not null %3$s
         )
         select s.id, 1 - s.distance
         from scored s
         where s.distance <> ''NaN''
         order by s.distance, s.id
         limit $2',
        target, embedding, user_filter)
    using query_embedding, match_count, filter_user_id;
end
$$;
comment on function public.embedding_search(text, vector, integer, uuid, integer, boolean) is
    'The search behind match_goals and match_beliefs (vector variant): ids and cosine similarity, best first.';

create or replace function public.match_goals(
    query_embedding vector,
    match_count integer default 10,
    filter_user_id uuid default null,
    candidates integer default null,
    exact boolean default false
)
returns table (id uuid, user_id uuid, agent_name text, goal_text text, status text, similarity double precision)
language sql
stable
set search_path from current
as $$
    select g.id, g.user_id, g.agent_name, g.goal_text, g.status, m.similarity
    from public.embedding_search('goal_assessments', query_embedding, match_count, filter_user_id, candidates, exact) m
    join public.goal_assessments g on g.id = m.id
    order by m.similarity desc, m.id
$$;
comment on function public.match_goals(vector, integer, uuid, integer, boolean) is
    'Goals most similar to query_embedding (cosine, best first), optionally for one user; vector variant: ANN index (exact => true: every row).';

create or replace function public.match_beliefs(
    query_embedding vector,
    match_count integer default 10,
    filter_user_id uuid default null,
    candidates integer default null,
    exact boolean default false
)
returns table (id uuid, user_id uuid, agent_name text, belief_text text, subject text, predicate text, object text,
               confidence double precision, similarity double precision)
language sql
stable
set search_path from current
as $$
    select b.id, b.user_id, b.agent_name, b.belief_text, b.subject, b.predicate, b.object, b.confidence, m.similarity
    from public.embedding_search('belief_graphs', query_embedding, match_count, filter_user_id, candidates, exact) m
    join public.belief_graphs b on b.id = m.id
    order by m.similarity desc, m.id
$$;
comment on function public.match_beliefs(vector, integer, uuid, integer, boolean) is
    'Beliefs most similar to query_embedding (cosine, best first), optionally for one user; vector variant: ANN index (exact => true: every row).';

-- Grants of the functions being replaced (the jsonb ones, or release 2's three-argument vector
-- ones) go to the new ones, and the old ones are dropped, in a do block: see 0014.
do $$
declare
    name text;
    old regprocedure;
    grantee record;
    copied boolean;
begin
    foreach name in array array['match_goals', 'match_beliefs'] loop
        copied := false;
        foreach old in array array[to_regprocedure(format('public.%I(jsonb, integer, uuid, integer, boolean)', name)),
                                   to_regprocedure(format('public.%I(vector, integer, uuid)', name)),
                                   to_regprocedure(format('public.%I(jsonb, integer, uuid)', name))] loop
            continue when old is null;
            if not copied then
                for grantee in select a.grantee from pg_proc p, aclexplode(p.proacl) a where p.oid = old and a.privilege_type = 'EXECUTE' loop
                    execute format('grant execute on function public.%I(vector, integer, uuid, integer, boolean) to %s', name,
                                   case when grantee.grantee = 0 then 'public' else quote_ident(pg_get_userbyid(grantee.grantee)) end);
                end loop;
                if exists (select from pg_proc where oid = old and proacl is not null)
                   and not exists (select from pg_proc p, aclexplode(p.proacl) a where p.oid = old and a.grantee = 0) then
                    execute format('revoke execute on function public.%I(vector, integer, uuid, integer, boolean) from public', name);
                end if;
                copied := true;
            end if;
            execute format('drop function %s', old);
        end loop;
    end loop;
    if to_regprocedure('public.embedding_search(text, jsonb, integer, uuid, integer, boolean)') is not null then
        drop function public.embedding_search(text, jsonb, integer, uuid, integer, boolean);
    end if;
end
$$;

-- Only when there is something to drop: dropping a trigger or a column waits for every reader of the table.
do $$
begin
    if exists (select from pg_trigger where tgrelid = 'public.goal_assessments'::regclass and tgname = 'update_goal_vector_derived') then
        drop trigger update_goal_vector_derived on public.goal_assessments;
    end if;
    if exists (select from pg_trigger where tgrelid = 'public.belief_graphs'::regclass and tgname = 'update_belief_vector_derived') then
        drop trigger update_belief_vector_derived on public.belief_graphs;
    end if;
    if exists (select from pg_attribute where attrelid = 'public.goal_assessments'::regclass
               and attname in ('goal_vector_unit', 'goal_vector_signs', 'goal_vector_magnitudes') and not attisdropped) then
        alter table public.goal_assessments drop column if exists goal_vector_unit, drop column if exists goal_vector_signs,
            drop column if exists goal_vector_magnitudes;
    end if;
    if exists (select from pg_attribute where attrelid = 'public.belief_graphs'::regclass
               and attname in ('belief_vector_unit', 'belief_vector_signs', 'belief_vector_magnitudes') and not attisdropped) then
        alter table public.belief_graphs drop column if exists belief_vector_unit, drop column if exists belief_vector_signs,
            drop column if exists belief_vector_magnitudes;
    end if;
end
$$;
drop function if exists public.derive_embedding_columns();
drop function if exists public.embedding_derived(jsonb);
