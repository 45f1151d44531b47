-- 0002_users: the users table the memory tables reference.
--
-- A fresh database gets a minimal users table. A database that already has one (the
-- application's) only gets the memory columns it lacks: adding a nullable column, or one with a
-- constant default, rewrites no row. 0001 has already refused a users.id that is not uuid.
-- Everything created here is recorded in memory_stack.owned_objects for rollback.sql.

do $$
begin
    if to_regclass('public.users') is null then
        create table public.users (
            id uuid primary key default uuid_generate_v4(),
            email text unique,
            display_name text,
            memory_preferences jsonb not null default '{}'::jsonb,
            memory_enabled boolean not null default true,
            last_memory_activity_at timestamptz,
            created_at timestamptz not null default now(),
            updated_at timestamptz not null default now()
        );
        comment on table public.users is 'Minimal users table created by the memory schema because the database had none.';
        insert into memory_stack.owned_objects (kind, name) values ('table', 'users') on conflict do nothing;
        return;
    end if;

    if not exists (select from information_schema.columns
                   where table_schema = 'public' and table_name = 'users' and column_name = 'memory_preferences') then
        alter table public.users add column memory_preferences jsonb not null default '{}'::jsonb;
        comment on column public.users.memory_preferences is 'Per-user settings of the agent memory system (json object).';
        insert into memory_stack.owned_objects (kind, name) values ('column', 'users.memory_preferences') on conflict do nothing;
    end if;
    if not exists (select from information_schema.columns
                   where table_schema = 'public' and table_name = 'users' and column_name = 'memory_enabled') then
        alter table public.users add column memory_enabled boolean not null default true;
        comment on column public.users.memory_enabled is 'False: agents must not store or recall memory for this user.';
        insert into memory_stack.owned_objects (kind, name) values ('column', 'users.memory_enabled') on conflict do nothing;
    end if;
    if not exists (select from information_schema.columns
                   where table_schema = 'public' and table_name = 'users' and column_name = 'last_memory_activity_at') then
        alter table public.users add column last_memory_activity_at timestamptz;
        comment on column public.users.last_memory_activity_at is 'Last time an agent wrote or recalled memory for this user (set by the application).';
        insert into memory_stack.owned_objects (kind, name) values ('column', 'users.last_memory_activity_at') on conflict do nothing;
    end if;
end
$$;
