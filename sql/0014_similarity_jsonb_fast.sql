-- 0014_similarity_jsonb_fast: match_goals and match_beliefs in milliseconds over the derived columns of 0013.
--
-- It first derives those columns for the rows written before 0013 (steps derive_goals and
-- derive_beliefs), so the new functions see every row from the moment they replace the old ones.
--
-- The contract both variants keep, now with two optional arguments (0017 gives the vector variant
-- the same signature); a call with the first three arguments means what it meant before:
--   match_goals(query_embedding, match_count integer default 10, filter_user_id uuid default null,
--               candidates integer default null, exact boolean default false)
--   match_beliefs(…the same…)
-- return the match_count rows most similar to query_embedding (cosine similarity as double
-- precision, best first, ties by id). filter_user_id null means every row the caller may see (row
-- level security applies: the functions run as the caller). Rows whose embedding is null, has
-- another length than the query or has norm zero are skipped.
--
-- How (embedding_search, shared by both), without parsing any row's json:
--   1. a Hamming pass over every row's sign bits keeps the 10 × candidates closest rows;
--   2. those are ranked by their two bits per value (sign, and magnitude above the median) against
--      the query's own values, in 4-bit planes: a few bit_count(a & b) per row;
--   3. the best `candidates` (at least match_count) get the exact cosine from their unit-length
--      copies, and the best match_count of those come back.
-- candidates null means 100 (docs/similarity.md: recall and latency per value). exact => true
-- computes the cosine of every row instead: the reference answer, and the slow one.
--
-- plpgsql with execute: every call is planned with its real values, so a filter on one user
-- uses the user_id index. On a stack whose embeddings are vector(N) already, the functions are
-- created and dropped again (0017 brings the vector ones); see 0013 for why they are created.

-- step: derive_goals batched
-- First the rows written before 0013 get their derived columns, in batches: each its own short
-- transaction, so reads and writes go on and an update of a row waits at most for one batch. A
-- batch takes the next $2 ids after $1 (the last id of the batch before) and wakes the trigger on
-- those not derived yet (setting signs to null, which it is already), with updated_at kept
-- (memory_stack.derive_only, for this transaction only). Nothing to do where the embeddings are
-- vector(N) (0013 added no columns).
select exists (select from pg_attribute where attrelid = 'public.goal_assessments'::regclass and attname = 'goal_vector_signs' and not attisdropped);
with derive_only as materialized (
    select set_config('memory_stack.derive_only', 'on', true)
), batch as (
    select id from public.goal_assessments, derive_only where $1::uuid is null or id > $1::uuid order by id limit $2
), derived as (
    update public.goal_assessments g set goal_vector_signs = null
    from batch
    where g.id = batch.id and g.goal_vector is not null and g.goal_vector_signs is null
)
select id from batch order by id;

-- step: derive_beliefs batched
select exists (select from pg_attribute where attrelid = 'public.belief_graphs'::regclass and attname = 'belief_vector_signs' and not attisdropped);
with derive_only as materialized (
    select set_config('memory_stack.derive_only', 'on', true)
), batch as (
    select id from public.belief_graphs, derive_only where $1::uuid is null or id > $1::uuid order by id limit $2
), derived as (
    update public.belief_graphs b set belief_vector_signs = null
    from batch
    where b.id = batch.id and b.belief_vector is not null and b.belief_vector_signs is null
)
select id from batch order by id;

-- step: search
-- What the batches left (rows a writer with session_replication_role = replica wrote meanwhile, the
-- trigger not firing for it), derived here, in the transaction that switches match_* over, so the
-- new functions see every row from the moment they replace the old ones. A trigger someone
-- disabled would leave the rows as they were, which stops the loop with an error.
set local memory_stack.derive_only = on;

do $$
declare
    touched bigint;
    derived bigint;
begin
    if exists (select from pg_attribute where attrelid = 'public.goal_assessments'::regclass
               and attname = 'goal_vector_signs' and not attisdropped) then
        loop
            with batch as (
                update public.goal_assessments g set goal_vector_signs = null
                from (select id from public.goal_assessments
                      where goal_vector is not null and goal_vector_signs is null limit 1000) pending
                where g.id = pending.id
                returning g.goal_vector_signs
            )
            select count(*), count(goal_vector_signs) into touched, derived from batch;
            exit when touched = 0;
            if derived < touched then
                raise exception 'the trigger update_goal_vector_derived did not derive public.goal_assessments.goal_vector (is it disabled?)'
                    using hint = 'alter table public.goal_assessments enable trigger update_goal_vector_derived, then apply again';
            end if;
        end loop;
    end if;
    if exists (select from pg_attribute where attrelid = 'public.belief_graphs'::regclass
               and attname = 'belief_vector_signs' and not attisdropped) then
        loop
            with batch as (
                update public.belief_graphs b set belief_vector_signs = null
                from (select id from public.belief_graphs
                      where belief_vector is not null and belief_vector_signs is null limit 1000) pending
                where b.id = pending.id
                returning b.belief_vector_signs
            )
            select count(*), count(belief_vector_signs) into touched, derived from batch;
            exit when touched = 0;
            if derived < touched then
                raise exception 'the trigger update_belief_vector_derived did not derive public.belief_graphs.belief_vector (is it disabled?)'
                    using hint = 'alter table public.belief_graphs enable trigger update_belief_vector_derived, then apply again';
            end if;
        end loop;
    end if;
end
$$;

reset memory_stack.derive_only;

create or replace function public.embedding_search(
    target text,
    query_embedding jsonb,
    match_count integer,
    filter_user_id uuid,
    candidates integer,
    exact boolean
)
returns table (id uuid, similarity double precision)
language plpgsql
stable
rows 10
set search_path = ''
as $$
declare
    embedding text := case target when 'goal_assessments' then 'goal_vector' when 'belief_graphs' then 'belief_vector' end;
    user_filter text := case when filter_user_id is null then '' else 'and t.user_id = $4' end;
    reranked integer := greatest(coalesce(candidates, 100), match_count);
    q record;
    dimensions integer;
    low double precision;
    step double precision;
    planes bit varying[];
    -- The sum of the query's values where `bits` has a 1, from the query's 4-bit planes ($7 low, $8 step, $9 planes).
    query_sum text := '($7 * bit_count(%1$s) + $8 * (bit_count(%1$s & $9[1]) + 2 * bit_count(%1$s & $9[2])'
                      ' + 4 * bit_count(%1$s & $9[3]) + 8 * bit_count(%1$s & $9[4])))';
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
            using errcode = 'invalid_parameter_value', hint = 'leave it out (null) for the default, 100';
    end if;
    select d.unit, d.signs into q from public.embedding_derived(query_embedding) d;
    dimensions := cardinality(q.unit);
    if dimensions is null or match_count = 0 then
        return;
    end if;

    if exact then
        return query execute format(
            'select t.id, (select sum(a::double precision * b) from unnest(t.%2$I, $1) as p (a, b)) as similarity
             from public.%1$I t
             where bit_length(t.%3$I) = $2 %4$s
             order by similarity desc, t.id
             limit $3',
            target, embedding || '_unit', embedding || '_signs', user_filter)
        using q.unit, dimensions, match_count, filter_user_id;
        return;
    end if;

    -- The query's values as 4-bit integers from its minimum in steps of `step`, one bit string per bit.
    select min(x), (max(x) - min(x)) / 15 into low, step from unnest(q.unit) as x;
    select array[string_agg((v & 1)::text, '' order by i)::bit varying, string_agg((v >> 1 & 1)::text, '' order by i)::bit varying,
                 string_agg((v >> 2 & 1)::text, '' order by i)::bit varying, string_agg((v >> 3)::text, '' order by i)::bit varying]
      into planes
      from (select i, case when step > 0 then round((x - low) / step)::integer else 0 end as v
            from unnest(q.unit) with ordinality as u (x, i)) levels;

    -- Step 2 scores sign * (3 if the magnitude bit is set, else 1) times the query, summed:
    -- up to terms equal for every row, sum(q | sign) + 2 sum(q | sign and big) - sum(q | big).
    return query execute format(
        'with shortlist as (
             select t.id, t.%2$I as unit, t.%3$I as signs, t.%4$I as magnitudes
             from public.%1$I t
             where bit_length(t.%3$I) = $2 %5$s
             order by bit_count(t.%3$I # $5)
             limit $6
         ), reranked as (
             select s.id, s.unit
             from shortlist s, lateral (select s.signs & s.magnitudes as big_signs) b
             order by %6$s + 2 * %7$s - %8$s desc
             limit $10
         )
         select r.id, (select sum(a::double precision * b) from unnest(r.unit, $1) as p (a, b)) as similarity
         from reranked r
         order by similarity desc, r.id
         limit $3',
        target, embedding || '_unit', embedding || '_signs', embedding || '_magnitudes', user_filter,
        format(query_sum, 's.signs'), format(query_sum, 'b.big_signs'), format(query_sum, 's.magnitudes'))
    using q.unit, dimensions, match_count, filter_user_id, q.signs, 10 * reranked, low, step, planes, reranked;
end
$$;
comment on function public.embedding_search(text, jsonb, integer, uuid, integer, boolean) is
    'The search behind match_goals and match_beliefs (jsonb variant): ids and cosine similarity, best first.';

-- The new signature first, the grants of the old one copied to it, then the old one dropped: one
-- transaction, so a caller sees the old function or the new one, never neither and never both.
create or replace function public.match_goals(
    query_embedding jsonb,
    match_count integer default 10,
    filter_user_id uuid default null,
    candidates integer default null,
    exact boolean default false
)
returns table (id uuid, user_id uuid, agent_name text, goal_text text, status text, similarity double precision)
language sql
stable
set search_path = ''
as $$
    select g.id, g.user_id, g.agent_name, g.goal_text, g.status, m.similarity
    from public.embedding_search('goal_assessments', query_embedding, match_count, filter_user_id, candidates, exact) m
    join public.goal_assessments g on g.id = m.id
    order by m.similarity desc, m.id
$$;
comment on function public.match_goals(jsonb, integer, uuid, integer, boolean) is
    'Goals most similar to query_embedding (cosine, best first), optionally for one user; jsonb variant: bit passes, exact cosine of the best candidates (exact => true: of every row).';

create or replace function public.match_beliefs(
    query_embedding jsonb,
    match_count integer default 10,
    filter_user_id uuid default null,
    candidates integer default null,
    exact boolean default false
)
returns table (id uuid, user_id uuid, agent_name text, belief_text text, subject text, predicate text, object text,
               confidence double precision, similarity double precision)
language sql
stable
set search_path = ''
as $$
    select b.id, b.user_id, b.agent_name, b.belief_text, b.subject, b.predicate, b.object, b.confidence, m.similarity
    from public.embedding_search('belief_graphs', query_embedding, match_count, filter_user_id, candidates, exact) m
    join public.belief_graphs b on b.id = m.id
    order by m.similarity desc, m.id
$$;
comment on function public.match_beliefs(jsonb, integer, uuid, integer, boolean) is
    'Beliefs most similar to query_embedding (cosine, best first), optionally for one user; jsonb variant: bit passes, exact cosine of the best candidates (exact => true: of every row).';

-- In a do block, like every drop of an overload here: verification reads the definitions from the
-- top-level statements, where dropping one match_goals would hide the other.
do $$
declare
    name text;
    old regprocedure;
    grantee record;
begin
    foreach name in array array['match_goals', 'match_beliefs'] loop
        old := to_regprocedure(format('public.%I(jsonb, integer, uuid)', name));
        if old is null then
            continue;
        end if;
        for grantee in select a.grantee from pg_proc p, aclexplode(p.proacl) a where p.oid = old and a.privilege_type = 'EXECUTE' loop
            execute format('grant execute on function public.%I(jsonb, integer, uuid, integer, boolean) to %s', name,
                           case when grantee.grantee = 0 then 'public' else quote_ident(pg_get_userbyid(grantee.grantee)) end);
        end loop;
        if exists (select from pg_proc where oid = old and proacl is not null)
           and not exists (select from pg_proc p, aclexplode(p.proacl) a where p.oid = old and a.grantee = 0) then
            execute format('revoke execute on function public.%I(jsonb, integer, uuid, integer, boolean) from public', name);
        end if;
        execute format('drop function %s', old);
    end loop;
end
$$;

do $$
begin
    if (select format_type(atttypid, atttypmod) from pg_attribute
        where attrelid = 'public.goal_assessments'::regclass and attname = 'goal_vector' and not attisdropped) <> 'jsonb' then
        drop function public.match_goals(jsonb, integer, uuid, integer, boolean);
        drop function public.match_beliefs(jsonb, integer, uuid, integer, boolean);
        drop function public.embedding_search(text, jsonb, integer, uuid, integer, boolean);
    end if;
end
$$;
