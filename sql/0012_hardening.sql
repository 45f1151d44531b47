-- 0012_hardening: what no role may learn or run, row level security or not.
--
-- sessions.session_id is the application's own key. Unique across all users, it told a user
-- that another user's key exists (a unique violation where a fresh key inserts); it is now
-- unique per user: (user_id, session_id), nulls not distinct. Existing rows already satisfy it.
-- The old constraint is dropped unless an application object depends on it (a foreign key to
-- sessions(session_id)): then it stays, with a notice, and so does the oracle.
-- The index is built inside this migration's transaction: writes to sessions wait for the build.
--
-- The maintenance functions change every user's rows: EXECUTE is revoked from PUBLIC and from
-- every role but the admin role (Supabase's default privileges grant new functions to its roles),
-- so only the owner and the admin role (engine/render/privileges.ts) can run them. The app role also
-- loses TRUNCATE, REFERENCES and TRIGGER on the memory tables, which the privilege list never gives
-- it and default privileges may have: TRUNCATE empties a table for every user, row level security
-- or not, and a trigger of its own would run as whoever writes next.

do $$
declare
    old_index oid;
begin
    if not exists (select from pg_constraint where conrelid = 'public.sessions'::regclass and conname = 'sessions_user_id_session_id_key') then
        alter table public.sessions
            add constraint sessions_user_id_session_id_key unique nulls not distinct (user_id, session_id);
    end if;
    select conindid into old_index from pg_constraint
    where conrelid = 'public.sessions'::regclass and conname = 'sessions_session_id_key';
    if old_index is null then
        return;
    end if;
    if exists (select from pg_depend d where d.refclassid = 'pg_class'::regclass and d.refobjid = old_index and d.deptype = 'n') then
        raise notice 'kept sessions_session_id_key: another object (a foreign key to sessions(session_id)?) depends on it, so session_id stays unique across users';
    else
        alter table public.sessions drop constraint sessions_session_id_key;
    end if;
end
$$;
comment on column public.sessions.session_id is 'The application''s own key for the session, unique per user.';

do $$
declare
    fn regprocedure;
    grantee name;
begin
    foreach fn in array array[
        'public.close_stale_sessions(interval)', 'public.purge_old_logs(interval, interval)', 'public.forget_user(uuid)'
    ]::regprocedure[] loop
        execute format('revoke execute on function %s from public', fn);
        for grantee in
            select r.rolname from pg_proc p cross join lateral aclexplode(p.proacl) a join pg_roles r on r.oid = a.grantee
            where p.oid = fn and a.grantee <> p.proowner and r.rolname <> {{admin_role_name}}
        loop
            execute format('revoke execute on function %s from %I', fn, grantee);
        end loop;
    end loop;
    if exists (select from pg_roles where rolname = {{app_role_name}}) then
        revoke truncate, references, trigger on public.sessions, public.agent_executions, public.memory_logs,
            public.goal_assessments, public.belief_graphs, public.cognitive_metrics, public.audit_logs from {{app_role}};
    end if;
end
$$;
