-- 0016_vector_contract: the second half of the switch of the embeddings to vector({{vector_dimensions}}): the swap.
-- requires: vector
--
-- After 0015_vector_expand every embedding has its vector twin, kept equal by a trigger, and the
-- twin is indexed. match_* first become bodies that serve both column types (step bridge: a call
-- that straddles the swap must not fail). Then each table swaps in one short transaction (steps contract_goals,
-- contract_beliefs): the engine gives it a short lock_timeout and retries it, so the application
-- waits at most that long. Inside: rows the trigger never saw (a writer with
-- session_replication_role = replica) are converted first, without the table lock; then the table
-- is locked, the trigger, the jsonb column and its jsonb-only objects (0013's derived columns) go,
-- and the twin takes the column's name. The bridge keeps answering, now from the vector column,
-- until 0017 replaces it by the vector match_* with the same arguments. Where the embeddings are
-- vector already (a stack that ran the retired 0010_vector) there is nothing to bridge or swap. The
-- index steps name the final index, so this file re-creates a dropped one.

-- step: bridge
-- A query that named match_goals(jsonb, …) just before a swap runs that function's body just after it,
-- against the swapped column (a function call takes no lock). So first, while the columns are still
-- jsonb, match_* (0014's signature) become bodies that serve either type: they take the table's lock,
-- then read the column's type, then run the query for it: 0014's search for jsonb, the ANN order for
-- vector. 0017 replaces them by the vector versions, with the same arguments.
do $$
begin
    if exists (select from pg_attribute where attrelid = 'public.goal_assessments'::regclass and attname = 'goal_vector'
               and atttypid = 'jsonb'::regtype and not attisdropped) then
        create or replace function public.match_goals(
            query_embedding jsonb,
            match_count integer default 10,
            filter_user_id uuid default null,
            candidates integer default null,
            exact boolean default false
        )
        returns table (id uuid, user_id uuid, agent_name text, goal_text text, status text, similarity double precision)
        language plpgsql
        volatile
        set search_path from current
        as $body$
        begin
            perform from public.goal_assessments where false;
            if (select atttypid from pg_attribute where attrelid = 'public.goal_assessments'::regclass and attname = 'goal_vector'
                and not attisdropped) = 'jsonb'::regtype then
                return query execute
                    'select g.id, g.user_id, g.agent_name, g.goal_text, g.status, m.similarity
                     from public.embedding_search(''goal_assessments'', $1, $2, $3, $4, $5) m
                     join public.goal_assessments g on g.id = m.id
                     order by m.similarity desc, m.id'
                    using query_embedding, match_count, filter_user_id, candidates, exact;
            else
                return query execute
                    'select g.id, g.user_id, g.agent_name, g.goal_text, g.status, (1 - (g.goal_vector <=> $1::text::vector))::double precision
                     from public.goal_assessments g
                     where g.goal_vector is not null and ($3::uuid is null or g.user_id = $3)
                     order by g.goal_vector{{vector_ann_cast}} <=> $1::text::vector{{vector_ann_cast}}
                     limit $2'
                    using query_embedding, match_count, filter_user_id;
            end if;
        end
        $body$;
    end if;
    if exists (select from pg_attribute where attrelid = 'public.belief_graphs'::regclass and attname = 'belief_vector'
               and atttypid = 'jsonb'::regtype and not attisdropped) then
        create or replace function public.match_beliefs(
            query_embedding jsonb,
            match_count integer default 10,
            filter_user_id uuid default null,
            candidates integer default null,
            exact boolean default false
        )
        returns table (id uuid, user_id uuid, agent_name text, belief_text text, subject text, predicate text, object text,
                       confidence double precision, similarity double precision)
        language plpgsql
        volatile
        set search_path from current
        as $body$
        begin
            perform from public.belief_graphs where false;
            if (select atttypid from pg_attribute where attrelid = 'public.belief_graphs'::regclass and attname = 'belief_vector'
                and not attisdropped) = 'jsonb'::regtype then
                return query execute
                    'select b.id, b.user_id, b.agent_name, b.belief_text, b.subject, b.predicate, b.object, b.confidence, m.similarity
                     from public.embedding_search(''belief_graphs'', $1, $2, $3, $4, $5) m
                     join public.belief_graphs b on b.id = m.id
                     order by m.similarity desc, m.id'
                    using query_embedding, match_count, filter_user_id, candidates, exact;
            else
                return query execute
                    'select b.id, b.user_id, b.agent_name, b.belief_text, b.subject, b.predicate, b.object, b.confidence,
                            (1 - (b.belief_vector <=> $1::text::vector))::double precision
                     from public.belief_graphs b
                     where b.belief_vector is not null and ($3::uuid is null or b.user_id = $3)
                     order by b.belief_vector{{vector_ann_cast}} <=> $1::text::vector{{vector_ann_cast}}
                     limit $2'
                    using query_embedding, match_count, filter_user_id;
            end if;
        end
        $body$;
    end if;
end
$$;

-- step: contract_goals
do $$
begin
    if exists (select from pg_attribute where attrelid = 'public.goal_assessments'::regclass and attname = 'goal_vector'
               and atttypid = 'jsonb'::regtype and not attisdropped) then
        update public.goal_assessments
        set goal_vector_new = memory_stack.vector_switch_value(goal_vector, 'public.goal_assessments', id)
        where goal_vector is not null and goal_vector_new is null;
        lock table public.goal_assessments in access exclusive mode;
        drop trigger if exists vector_switch_sync on public.goal_assessments;
        alter table public.goal_assessments drop constraint if exists goal_assessments_goal_vector_check;
        -- jsonb-only objects of later jsonb migrations are dropped here, before the column: 0013's derived columns and their trigger.
        drop trigger if exists update_goal_vector_derived on public.goal_assessments;
        alter table public.goal_assessments drop column if exists goal_vector_unit, drop column if exists goal_vector_signs,
            drop column if exists goal_vector_magnitudes;
        alter table public.goal_assessments drop column goal_vector;
        alter table public.goal_assessments rename column goal_vector_new to goal_vector;
        comment on column public.goal_assessments.goal_vector is 'Embedding: a json array of numbers (jsonb variant) or vector(N) (vector variant).';
    end if;
end
$$;
drop function if exists memory_stack.vector_switch_sync_goal_vector();

-- step: contract_beliefs
do $$
begin
    if exists (select from pg_attribute where attrelid = 'public.belief_graphs'::regclass and attname = 'belief_vector'
               and atttypid = 'jsonb'::regtype and not attisdropped) then
        update public.belief_graphs
        set belief_vector_new = memory_stack.vector_switch_value(belief_vector, 'public.belief_graphs', id)
        where belief_vector is not null and belief_vector_new is null;
        lock table public.belief_graphs in access exclusive mode;
        drop trigger if exists vector_switch_sync on public.belief_graphs;
        alter table public.belief_graphs drop constraint if exists belief_graphs_belief_vector_check;
        -- jsonb-only objects of later jsonb migrations are dropped here, before the column: 0013's derived columns and their trigger.
        drop trigger if exists update_belief_vector_derived on public.belief_graphs;
        alter table public.belief_graphs drop column if exists belief_vector_unit, drop column if exists belief_vector_signs,
            drop column if exists belief_vector_magnitudes;
        alter table public.belief_graphs drop column belief_vector;
        alter table public.belief_graphs rename column belief_vector_new to belief_vector;
        comment on column public.belief_graphs.belief_vector is 'Embedding: a json array of numbers (jsonb variant) or vector(N) (vector variant).';
    end if;
end
$$;
drop function if exists memory_stack.vector_switch_sync_belief_vector();

-- step: cleanup
drop function if exists memory_stack.vector_switch_value(jsonb, text, uuid);
drop function if exists memory_stack.vector_switch_problem(jsonb);

-- step: index_goals no transaction
-- Nothing to do after 0015 built it; re-creates the index if it was ever dropped (repair).
create index concurrently if not exists idx_goal_assessments_goal_vector
    on public.goal_assessments using {{vector_index}} ((goal_vector{{vector_ann_cast}}) {{vector_ann_ops}});

-- step: index_beliefs no transaction
create index concurrently if not exists idx_belief_graphs_belief_vector
    on public.belief_graphs using {{vector_index}} ((belief_vector{{vector_ann_cast}}) {{vector_ann_ops}});
