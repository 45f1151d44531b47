-- 0012_hardening: what no role may learn or run, row level security or not.
--
-- sessions.session_id is the application's own key. Unique across all users, it told a user
-- that another user's key exists (a unique violation where a fresh key inserts); it is now
-- unique per user: (user_id, session_id), nulls not distinct. Existing rows already satisfy it.
-- The old constraint is dropped unless an application object depends on it (a foreign key to
-- sessions(session_id)): then it stays, with a notice, and so does the oracle.
-- The index is built inside this migration's transaction: writes to sessions wait for the build.
--
-- The maintenance functions change every user's rows: EXECUTE is revoked from PUBLIC, so only
-- the owner and the roles granted it (the admin role, engine/render/privileges.ts) can run them.

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

revoke execute on function public.close_stale_sessions(interval) from public;
revoke execute on function public.purge_old_logs(interval, interval) from public;
revoke execute on function public.forget_user(uuid) from public;
