-- 0001_foundation: refuse an incompatible users table, then create the ownership ledger and uuid-ossp.
--
-- The users check comes first and in the first migration on purpose: every migration is one
-- transaction, so raising here leaves the database exactly as it was (nothing of the schema,
-- not even an extension, is applied).
--
-- memory_stack.owned_objects records what this schema created (as opposed to what was already
-- there), so that rollback.sql removes exactly what the stack added and nothing else.

do $$
declare
    id_type text;
begin
    select format_type(a.atttypid, a.atttypmod) into id_type
    from pg_attribute a
    where a.attrelid = to_regclass('public.users') and a.attname = 'id' and not a.attisdropped;

    if to_regclass('public.users') is null then
        return; -- a fresh database: 0002 creates users
    end if;
    if id_type is null then
        raise exception 'public.users exists but has no id column; the memory tables reference users(id)'
            using errcode = 'invalid_table_definition',
                  hint = 'add a uuid primary key column id to public.users, or move the table out of schema public';
    end if;
    if id_type <> 'uuid' then
        raise exception 'public.users.id is %, but the memory tables need users.id of type uuid; nothing was changed', id_type
            using errcode = 'datatype_mismatch',
                  hint = 'migrate users.id to uuid first (or deploy the memory schema into a database whose users.id is uuid)';
    end if;
    if not exists (
        select from pg_index i
        where i.indrelid = 'public.users'::regclass and i.indisunique and i.indnkeyatts = 1 and i.indpred is null
          and i.indkey[0] = (select attnum from pg_attribute where attrelid = 'public.users'::regclass and attname = 'id')
    ) then
        raise exception 'public.users.id is neither a primary key nor unique, so foreign keys cannot reference it; nothing was changed'
            using errcode = 'invalid_foreign_key',
                  hint = 'alter table public.users add primary key (id)';
    end if;
end
$$;

create schema if not exists memory_stack;
comment on schema memory_stack is 'Bookkeeping of the memory-stack schema: what it created (owned_objects) and which migrations ran.';

create table if not exists memory_stack.owned_objects (
    kind text not null,
    name text not null,
    primary key (kind, name)
);
comment on table memory_stack.owned_objects is
    'Objects the memory schema created because they did not exist (extension, table, column, schema, function, role); rollback.sql drops only these among shared objects.';

do $$
begin
    if not exists (select from pg_extension where extname = 'uuid-ossp') then
        create extension "uuid-ossp";
        insert into memory_stack.owned_objects (kind, name) values ('extension', 'uuid-ossp') on conflict do nothing;
    end if;
end
$$;
