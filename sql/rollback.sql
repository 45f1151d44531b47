-- rollback: remove exactly what the memory schema created, and nothing else.
--
-- Generic: it reads memory_stack.created_objects, where the migration engine recorded every object
-- each migration created, in that migration's own transaction, and drops those newest first, by
-- kind. A name that exists without a record is never dropped, whatever it is called; nothing is
-- dropped with cascade, so an application object built on a memory object stops the rollback with
-- a dependency error instead of vanishing with it. An extension, schema, role or function that
-- something else now depends on is kept, with a notice, and so are its records (in an emptied
-- ledger), so the next apply knows it as the stack's; schema memory_stack holding an application's
-- object keeps its emptied ledger for the same reason. Indexes that implement a constraint go with
-- it, sequences a column owns with the column. A record carries the oid of the object the stack
-- created and where that oid means something (system identifier/database oid): a recorded name that
-- now belongs to another object (dropped, then created again by someone else) is left alone, with a
-- notice, and its record dropped; records without an oid, or from another database (a restore, a
-- pg_upgrade), go by name alone.
--
-- Run it in one transaction (psql -1 -f rollback.sql); running it again is a no-op. It refuses
-- nothing on its own: the data guard (recorded tables with rows, recorded memory columns holding
-- non-default values) is the engine's job (memory-stack rollback), before this script runs.

do $$
declare
    o record;
    target text;
    unrecorded boolean := false;
    postponed integer[] := '{}';
    still integer[] := '{}';
    first_pass boolean := true;
    dropped boolean;
    here text;
    copied text;
    reused integer[] := '{}';
    granted record;
begin
    if to_regclass('memory_stack.migrations') is not null then
        -- written by a release that did not record (no ownership table, or ledger rows not marked recorded)
        execute $q$select to_regclass('memory_stack.created_objects') is null
                       or exists (select from memory_stack.migrations m where not coalesce((to_jsonb(m) ->> 'recorded')::boolean, false))$q$
            into unrecorded;
    end if;
    if unrecorded then
        raise exception 'this database was migrated by memory-stack release 1 or 2, which did not record what it created; nothing was dropped'
            using errcode = 'object_not_in_prerequisite_state',
                  hint = 'run memory-stack rollback: it records what the stack created (adoption rule in docs/migrations-safety.md) and then rolls back';
    end if;
    if to_regclass('memory_stack.created_objects') is null then
        return; -- nothing was applied, or already rolled back
    end if;

    -- Where the recorded oids mean something; the same value as engine/migrate/identity.ts ORIGIN_SQL.
    here := case when has_function_privilege('pg_catalog.pg_control_system()', 'execute')
        then (select system_identifier::text from pg_catalog.pg_control_system()) || '/'
             || (select oid::text from pg_catalog.pg_database where datname = current_database()) end;
    -- memory_stack.owned_objects at its recorded oid, recorded in another database of this cluster: this database is a copy of
    -- that one (createdb -T), which keeps every oid, so the records' oids of that origin mean here what they meant there, beside
    -- those of this database's own (identity.ts COPIED_FROM, COMPARED)
    copied := (select to_jsonb(s) ->> 'origin' from memory_stack.created_objects s
                where s.identity = 'table memory_stack.owned_objects' and to_jsonb(s) ->> 'origin' <> here
                  and split_part(to_jsonb(s) ->> 'origin', '/', 1) = split_part(here, '/', 1)
                  and (to_jsonb(s) ->> 'oid')::bigint = to_regclass('memory_stack.owned_objects')::oid::bigint
                limit 1);
    -- memory_stack.owned_objects under another oid than recorded: a dump restored into this very database renumbered
    -- every object, so no recorded oid means anything (engine/migrate/identity.ts RENUMBERED)
    if exists (select from memory_stack.created_objects s
                where s.identity = 'table memory_stack.owned_objects' and to_jsonb(s) ->> 'origin' = here
                  and to_regclass('memory_stack.owned_objects') is not null
                  and (to_jsonb(s) ->> 'oid')::bigint <> to_regclass('memory_stack.owned_objects')::oid::bigint) then
        here := null;
    end if;
    -- to_jsonb(c): a table of an older release has no oid and origin columns; they read as null. The
    -- lookup by kind is engine/migrate/identity.ts REUSED_SQL's (what verify reports).
    for o in select c.position, c.identity, (to_jsonb(c) ->> 'oid')::bigint as recorded_oid,
                    case c.kind
                        when 'role' then (select r.oid from pg_roles r where r.rolname = c.name)
                        when 'schema' then (select n.oid from pg_namespace n where n.nspname = c.name)
                        when 'extension' then (select e.oid from pg_extension e where e.extname = c.name)
                        when 'function' then to_regprocedure(format('%I.%I(%s)', c.schema_name, c.name, c.arguments))::oid
                        when 'type' then to_regtype(format('%I.%I', c.schema_name, c.name))::oid
                        when 'domain' then to_regtype(format('%I.%I', c.schema_name, c.name))::oid
                        when 'trigger' then (select g.oid from pg_trigger g
                                              where g.tgrelid = to_regclass(format('%I.%I', c.schema_name, c.parent)) and g.tgname = c.name)
                        when 'policy' then (select y.oid from pg_policy y
                                             where y.polrelid = to_regclass(format('%I.%I', c.schema_name, c.parent)) and y.polname = c.name)
                        when 'constraint' then (select k.oid from pg_constraint k
                                                 where k.conrelid = to_regclass(format('%I.%I', c.schema_name, c.parent)) and k.conname = c.name)
                        when 'column' then null
                        else case when c.kind in ('table', 'view', 'materialized view', 'index', 'sequence', 'foreign table')
                                  then to_regclass(format('%I.%I', c.schema_name, c.name))::oid end
                    end::bigint as current_oid
               from memory_stack.created_objects c
              where to_jsonb(c) ->> 'origin' in (here, copied) and to_jsonb(c) ->> 'oid' is not null
              order by c.position desc loop
        if o.current_oid is not null and o.current_oid <> o.recorded_oid then
            reused := reused || o.position;
            raise notice 'left % alone: created again by someone else after the stack''s was dropped', o.identity;
        end if;
    end loop;
    delete from memory_stack.created_objects c where c.position = any(reused);

    -- Newest first; a shared object that something still depends on is postponed and tried again
    -- after the rest (the vector extension once 0010 typed the embedding columns with it), as long
    -- as a pass drops something; what still cannot go is kept, with a notice.
    loop
        dropped := false;
        still := '{}';
        for o in select * from memory_stack.created_objects c
                 where first_pass or c.position = any(postponed) order by c.position desc loop
            target := case when o.schema_name is null then quote_ident(o.name) else format('%I.%I', o.schema_name, o.name) end;
            -- an index that implements a constraint goes with it, a sequence a column owns with the column
            continue when o.kind = 'index' and exists (
                select from pg_constraint k join pg_index x on x.indexrelid = k.conindid and x.indrelid = k.conrelid
                where k.conindid = to_regclass(target));
            continue when o.kind = 'sequence' and exists (
                select from pg_depend d
                where d.classid = 'pg_class'::regclass and d.objid = to_regclass(target) and d.deptype in ('a', 'i'));
            begin
                case o.kind
                    when 'role' then
                        -- The grants it holds here go with it (drop owned), unless it owns something here: that is
                        -- not ours to drop, so the role is kept. Grants in other databases keep it too.
                        if exists (select from pg_shdepend d join pg_roles r on r.oid = d.refobjid
                                   where r.rolname = o.name and d.deptype = 'o'
                                     and d.dbid = (select oid from pg_database where datname = current_database())) then
                            raise exception 'role % owns objects here', o.name using errcode = 'dependent_objects_still_exist';
                        end if;
                        -- Nor are the privileges it holds here on what the stack did not create (the application's
                        -- grant on its own table, its default privileges) or a policy of the application's naming it:
                        -- drop owned would revoke them and drop the policy. The stack's own grants and policies go with
                        -- the stack's objects, which are dropped before the role is tried again; those on the stack's
                        -- schemas (memory_stack, and one kept for an application's object in it) and functions stay.
                        if exists (select from pg_shdepend d join pg_roles r on r.oid = d.refobjid
                                   where r.rolname = o.name and d.deptype in ('a', 'r')
                                     and d.dbid = (select oid from pg_database where datname = current_database())
                                     and not (d.classid = 'pg_namespace'::regclass and d.objid in (
                                         select n.oid from pg_namespace n
                                          where n.nspname = 'memory_stack'
                                             or n.nspname in (select c.name from memory_stack.created_objects c where c.kind = 'schema')))
                                     and not (d.classid = 'pg_proc'::regclass and d.objid in (
                                         select to_regprocedure(format('%I.%I(%s)', c.schema_name, c.name, c.arguments))
                                           from memory_stack.created_objects c where c.kind = 'function'))) then
                            raise exception 'role % holds privileges here', o.name using errcode = 'dependent_objects_still_exist';
                        end if;
                        -- Nor is one the application made a role of its own a member of (grant memory_app to app_login):
                        -- the membership would end with it, and the next apply creates the role without it. The deployer's
                        -- own membership (granted so that it can verify as the role) does not count.
                        if exists (select from pg_auth_members m join pg_roles r on r.oid = m.roleid join pg_roles w on w.oid = m.member
                                   where r.rolname = o.name and w.rolname <> current_user
                                     and w.rolname not in (select c.name from memory_stack.created_objects c where c.kind = 'role')) then
                            raise exception 'role % has members', o.name using errcode = 'dependent_objects_still_exist';
                        end if;
                        if exists (select from pg_roles where rolname = o.name) then
                            begin
                                execute format('drop owned by %I', o.name);
                            exception when insufficient_privilege then
                                -- Not a member of it (a deployer with CREATEROLE only). The stack's own grants on its
                                -- schemas would keep it (memory_stack, 0011, stays while the role's record does): revoke
                                -- them; the drop below says whether anything else still holds the role.
                                for granted in select n.nspname from pg_namespace n
                                                where n.nspname = 'memory_stack'
                                                   or n.nspname in (select c.name from memory_stack.created_objects c where c.kind = 'schema') loop
                                    execute format('revoke all on schema %I from %I', granted.nspname, o.name);
                                end loop;
                            end;
                        end if;
                        execute format('drop role if exists %s', target);
                    when 'table', 'view', 'materialized view', 'index', 'sequence', 'foreign table', 'type', 'domain', 'schema', 'extension' then
                        execute format('drop %s if exists %s', o.kind, target);
                    when 'function' then
                        execute format('drop routine if exists %s(%s)', target, o.arguments);
                    when 'trigger', 'policy' then
                        execute format('drop %s if exists %I on %I.%I', o.kind, o.name, o.schema_name, o.parent);
                    when 'column', 'constraint' then
                        execute format('alter table if exists %I.%I drop %s if exists %I', o.schema_name, o.parent, o.kind, o.name);
                    else
                        raise exception 'cannot drop % (recorded by %): a newer memory-stack recorded it; nothing was dropped', o.identity, o.migration
                            using errcode = 'feature_not_supported', hint = 'roll back with the release that migrated this database';
                end case;
                dropped := dropped or not first_pass;
            exception when dependent_objects_still_exist then
                if o.kind not in ('extension', 'schema', 'role', 'function') then
                    raise;
                end if;
                still := still || o.position;
            end;
        end loop;
        exit when cardinality(still) = 0 or not (first_pass or dropped);
        postponed := still;
        first_pass := false;
    end loop;
    for o in select * from memory_stack.created_objects c where c.position = any(still) order by c.position desc loop
        raise notice 'kept %: other objects depend on it now', o.identity;
    end loop;

    -- pgvector settings memory-stack set on the database (config vectorEfSearch, vectorProbes; engine/migrate/search-settings.ts)
    if to_regclass('memory_stack.search_settings') is not null then
        for o in select name from memory_stack.search_settings where name in ('hnsw.ef_search', 'ivfflat.probes') loop
            execute format('alter database %I reset %s', current_database(), o.name);
        end loop;
        drop table memory_stack.search_settings;
    end if;

    drop table if exists memory_stack.migration_steps; -- the steps of a migration that never finished
    if cardinality(still) > 0 then
        -- What was kept is still the stack's: its records (and the emptied ledger beside them) stay, so the
        -- next apply recognises it instead of refusing it as the application's, and a later rollback drops it.
        delete from memory_stack.created_objects c where not (c.position = any(still));
        delete from memory_stack.migrations;
        raise notice 'kept schema memory_stack: it holds the records of what was kept, so the next apply knows it as the stack''s';
        return;
    end if;
    begin
        drop table memory_stack.created_objects;
        drop table memory_stack.migrations;
        drop schema memory_stack;
    exception when dependent_objects_still_exist then
        -- Undone to before the drops: a schema memory_stack without a ledger would be refused as the application's by the
        -- next apply, so the emptied ledger stays with the application's objects.
        delete from memory_stack.created_objects;
        delete from memory_stack.migrations;
        raise notice 'kept schema memory_stack: it holds objects the memory schema did not create; its emptied ledger stays, so the next apply knows it as the stack''s';
    end;
end
$$;
