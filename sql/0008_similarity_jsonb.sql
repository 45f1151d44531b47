-- 0008_similarity_jsonb: match_goals and match_beliefs over jsonb embeddings.
--
-- The contract both variants keep (0010_vector replaces these bodies for vector(N)):
--   match_goals(query_embedding, match_count integer default 10, filter_user_id uuid default null)
--   match_beliefs(query_embedding, match_count integer default 10, filter_user_id uuid default null)
-- return the match_count rows most similar to query_embedding, best first, with
-- similarity = cosine similarity as double precision; filter_user_id null means every row the
-- caller may see (row level security still applies). An application passes the embedding as
-- text like '[0.1, 0.2]', which both jsonb and vector parse, so it never changes when the
-- variant does. Here the cosine is computed in SQL, by a scan; rows whose embedding is null,
-- has another length than the query or has zero norm are skipped. Each embedding is cast from its
-- jsonb text to double precision[] in one step (jsonb prints '[…]', an array literal is '{…}'),
-- several times faster than unnesting the jsonb element by element.

create or replace function public.match_goals(
    query_embedding jsonb,
    match_count integer default 10,
    filter_user_id uuid default null
)
returns table (id uuid, user_id uuid, agent_name text, goal_text text, status text, similarity double precision)
language sql
stable
set search_path = ''
as $$
    with query as (select translate(query_embedding::text, '[]', '{}')::double precision[] as v)
    select g.id, g.user_id, g.agent_name, g.goal_text, g.status, c.similarity
    from query, public.goal_assessments g
    cross join lateral (
        select sum(q * e) / nullif(sqrt(sum(q * q)) * sqrt(sum(e * e)), 0) as similarity
        from unnest(query.v, translate(g.goal_vector::text, '[]', '{}')::double precision[]) as pair (q, e)
    ) c
    where g.goal_vector is not null
      and jsonb_array_length(g.goal_vector) = cardinality(query.v)
      and (filter_user_id is null or g.user_id = filter_user_id)
      and c.similarity is not null
    order by c.similarity desc, g.id
    limit match_count
$$;
comment on function public.match_goals(jsonb, integer, uuid) is
    'Goals most similar to query_embedding (cosine, best first), optionally for one user; jsonb variant: exact scan.';

create or replace function public.match_beliefs(
    query_embedding jsonb,
    match_count integer default 10,
    filter_user_id uuid default null
)
returns table (id uuid, user_id uuid, agent_name text, belief_text text, subject text, predicate text, object text,
               confidence double precision, similarity double precision)
language sql
stable
set search_path = ''
as $$
    with query as (select translate(query_embedding::text, '[]', '{}')::double precision[] as v)
    select b.id, b.user_id, b.agent_name, b.belief_text, b.subject, b.predicate, b.object, b.confidence, c.similarity
    from query, public.belief_graphs b
    cross join lateral (
        select sum(q * e) / nullif(sqrt(sum(q * q)) * sqrt(sum(e * e)), 0) as similarity
        from unnest(query.v, translate(b.belief_vector::text, '[]', '{}')::double precision[]) as pair (q, e)
    ) c
    where b.belief_vector is not null
      and jsonb_array_length(b.belief_vector) = cardinality(query.v)
      and (filter_user_id is null or b.user_id = filter_user_id)
      and c.similarity is not null
    order by c.similarity desc, b.id
    limit match_count
$$;
comment on function public.match_beliefs(jsonb, integer, uuid) is
    'Beliefs most similar to query_embedding (cosine, best first), optionally for one user; jsonb variant: exact scan.';
