import type { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectedObjects, MEMORY_TABLES, USERS_MEMORY_COLUMNS } from "../../components/schema/manifest";
import { renderRollback } from "../../components/schema/render";
import { applyMigrations, migrationsFor } from "../support/apply-sql";
import { readCatalog, sortedManifest } from "../support/catalog";
import { schemaDatabase, type SchemaDatabase } from "../support/schema-db";

const APP_TABLES = ["users", "dealers", "robots", "prequalifications", "tenants", "threads", "thread_messages", "agent_versions", "alembic_version"];

// The seed's application tables, shaped like a typical SQLAlchemy/alembic app, with rows.
const APP_SCHEMA = `
create extension "uuid-ossp";
create table tenants (id uuid primary key default uuid_generate_v4(), name text not null unique, settings jsonb default '{}', created_at timestamptz default now());
create table users (id uuid primary key default uuid_generate_v4(), tenant_id uuid references tenants (id), email varchar(255) not null unique,
    hashed_password text, full_name text, is_active boolean default true, roles text[] default '{user}', created_at timestamptz default now(),
    updated_at timestamp);
create index ix_users_tenant on users (tenant_id);
create table dealers (id serial primary key, tenant_id uuid references tenants (id) on delete cascade, name text, rating numeric(3, 2), location point);
create table robots (id uuid primary key default uuid_generate_v4(), dealer_id int references dealers (id), model text, specs jsonb, price numeric(12, 2));
create table prequalifications (id uuid primary key default uuid_generate_v4(), user_id uuid references users (id) on delete cascade,
    robot_id uuid references robots (id), amount numeric, status text check (status in ('pending', 'approved', 'rejected')), decided_at timestamptz);
create table threads (id uuid primary key default uuid_generate_v4(), user_id uuid references users (id), title text, created_at timestamptz default now());
create table thread_messages (id bigserial primary key, thread_id uuid references threads (id) on delete cascade, role text, content text, tokens int,
    meta jsonb, created_at timestamptz default now());
create table agent_versions (id serial primary key, agent_name text, version text, config jsonb, deployed_at timestamptz);
create table alembic_version (version_num varchar(32) primary key);
insert into tenants (name, settings) values ('acme', '{"tier": "gold"}'), ('globex', '{}');
insert into users (tenant_id, email, hashed_password, full_name, roles, created_at, updated_at)
    select t.id, 'user' || i || '@' || t.name || '.example', md5(i::text), 'User ' || i, '{user,buyer}', '2024-01-01'::timestamptz + i * interval '1 day', '2024-02-01 10:00'
    from tenants t, generate_series(1, 5) i;
insert into dealers (tenant_id, name, rating, location) select id, name || ' dealer', 4.5, point(1.5, 2.25) from tenants;
insert into robots (dealer_id, model, specs, price) select id, 'R-' || id, jsonb_build_object('arms', id, 'tags', '["a", "b"]'::jsonb), 19999.99 from dealers;
insert into prequalifications (user_id, robot_id, amount, status, decided_at)
    select u.id, r.id, 1234.5, 'approved', '2024-03-01 12:00+02' from users u, robots r where u.email like 'user1@%';
insert into threads (user_id, title, created_at) select id, 'Thread of ' || full_name, '2024-04-01' from users;
insert into thread_messages (thread_id, role, content, tokens, meta, created_at)
    select t.id, r, 'hello ''world'' — ünïcødé', 42, '{"k": [1, 2.5, null]}', '2024-04-02' from threads t, unnest(array['user', 'assistant']) r;
insert into agent_versions (agent_name, version, config, deployed_at) values ('sales', '1.2.3', '{"model": "gpt"}', '2024-05-01');
insert into alembic_version values ('a1b2c3d4e5f6');
`;

/** md5 of each application table's rows (users: its application columns only) as text, in a stable order. */
async function fingerprint(c: Client, userColumns: string[]): Promise<Record<string, string>> {
    const result: Record<string, string> = {};
    for (const table of APP_TABLES) {
        const row = table === "users" ? `row(${userColumns.map((col) => `t.${col}`).join(", ")})::text` : "t::text";
        result[table] = (await c.query(`select count(*) || ':' || md5(coalesce(string_agg(${row}, E'\\n' order by ${row}), '')) as f from ${table} t`)).rows[0].f;
    }
    return result;
}

/** The definition of every application table: columns, constraints, indexes, triggers. */
async function definitions(c: Client): Promise<unknown[]> {
    return (await c.query(`
        select 'column' as kind, table_name as t, column_name || ' ' || data_type || ' ' || coalesce(column_default, '') || ' ' || is_nullable as d
        from information_schema.columns where table_schema = 'public' and table_name = any($1)
        union all select 'constraint', conrelid::regclass::text, conname || ' ' || pg_get_constraintdef(oid) from pg_constraint
        where conrelid = any(select oid from pg_class where relnamespace = 'public'::regnamespace and relname = any($1))
        union all select 'index', tablename, indexdef from pg_indexes where schemaname = 'public' and tablename = any($1)
        union all select 'trigger', tgrelid::regclass::text, tgname from pg_trigger
        where not tgisinternal and tgrelid = any(select oid from pg_class where relnamespace = 'public'::regnamespace and relname = any($1))
        order by 1, 2, 3`, [APP_TABLES])).rows;
}

describe("applying the schema to a database that holds the seed's application tables", () => {
    let s: SchemaDatabase;
    let c: Client;
    let userColumns: string[];
    let rowsBefore: Record<string, string>;
    let definitionsBefore: unknown[];

    beforeAll(async () => {
        s = await schemaDatabase("schema_existing", { rls: true }, false);
        c = s.client;
        await c.query(APP_SCHEMA);
        userColumns = (await c.query(`select column_name from information_schema.columns where table_schema = 'public' and table_name = 'users' order by ordinal_position`))
            .rows.map((r) => r.column_name);
        rowsBefore = await fingerprint(c, userColumns);
        definitionsBefore = await definitions(c);
        await applyMigrations(c, migrationsFor(s.options));
    });
    afterAll(async () => s?.drop());

    it("leaves every pre-existing row byte-for-byte unchanged", async () => {
        expect(rowsBefore.users).toMatch(/^10:/);
        expect(await fingerprint(c, userColumns)).toEqual(rowsBefore);
    });

    it("only adds the memory columns to users and changes no other application table", async () => {
        const after = await definitions(c);
        const added = after.filter((d) => !definitionsBefore.some((b) => JSON.stringify(b) === JSON.stringify(d)));
        const removed = definitionsBefore.filter((b) => !after.some((d) => JSON.stringify(b) === JSON.stringify(d)));
        expect(removed).toEqual([]);
        expect(added.map((d) => (d as { d: string }).d.split(" ")[0]).sort()).toEqual([...USERS_MEMORY_COLUMNS].sort());
        expect(added.every((d) => (d as { t: string }).t === "users")).toBe(true);
    });

    it("adds the full memory schema beside the application's tables", async () => {
        const { publicTables, ...catalog } = await readCatalog(c, MEMORY_TABLES);
        expect(catalog).toEqual(sortedManifest(expectedObjects(s.options)));
        expect(publicTables).toEqual([...APP_TABLES, ...MEMORY_TABLES].sort());
    });

    it("records only the columns it added, not users or the existing uuid-ossp, as its own", async () => {
        const { rows } = await c.query(`select kind, name from memory_stack.owned_objects where kind in ('column', 'table', 'extension') order by name`);
        expect(rows).toEqual(USERS_MEMORY_COLUMNS.map((col) => ({ kind: "column", name: `users.${col}` })).sort((x, y) => x.name.localeCompare(y.name)));
    });

    it("applies again as a no-op (guarded DDL)", async () => {
        await applyMigrations(c, migrationsFor(s.options));
        expect(await fingerprint(c, userColumns)).toEqual(rowsBefore);
        const { publicTables: _, ...catalog } = await readCatalog(c, MEMORY_TABLES);
        expect(catalog).toEqual(sortedManifest(expectedObjects(s.options)));
    });

    it("rolls back to exactly the application's database, and a second rollback is a no-op", async () => {
        for (let run = 1; run <= 2; run++) {
            await c.query("begin");
            await c.query(renderRollback(s.options));
            await c.query("commit");
            expect(await fingerprint(c, userColumns)).toEqual(rowsBefore);
            expect(await definitions(c)).toEqual(definitionsBefore);
            const catalog = await readCatalog(c, MEMORY_TABLES);
            expect(catalog.publicTables).toEqual([...APP_TABLES].sort());
            expect({ views: catalog.views, functions: catalog.functions, extensions: catalog.extensions })
                .toEqual({ views: [], functions: [], extensions: ["uuid-ossp"] });
            const left = await c.query(`select
                to_regclass('memory_stack.owned_objects') as ledger, to_regnamespace('auth') as auth,
                (select count(*)::int from pg_roles where rolname in ($1, $2)) as roles`, [s.options.appRole, s.options.adminRole]);
            expect(left.rows[0]).toEqual({ ledger: null, auth: null, roles: 0 });
        }
    });
});

describe("a users table whose id is not uuid", () => {
    let s: SchemaDatabase;
    let c: Client;

    async function snapshot(): Promise<unknown> {
        return (await c.query(`
            select 'class' as k, n.nspname || '.' || c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
            where n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast')
            union all select 'extension', extname from pg_extension
            union all select 'schema', nspname from pg_namespace
            union all select 'function', oid::regprocedure::text from pg_proc where pronamespace <> 'pg_catalog'::regnamespace
              and pronamespace <> 'information_schema'::regnamespace
            union all select 'row', u::text from users u
            order by 1, 2`)).rows;
    }

    beforeAll(async () => {
        s = await schemaDatabase("schema_serial_users", { rls: true }, false);
        c = s.client;
        await c.query(`create table users (id serial primary key, email text); insert into users (email) values ('a@example.com'), ('b@example.com')`);
    });
    afterAll(async () => s?.drop());

    it("is refused with a clear error by the first migration, and nothing changes", async () => {
        const before = await snapshot();
        const error = await applyMigrations(c, migrationsFor(s.options)).catch((e) => e);
        expect(error).toMatchObject({ code: "42804", message: expect.stringMatching(/^0001_foundation\.sql: public\.users\.id is integer, but the memory tables need users\.id of type uuid; nothing was changed/) });
        expect(await snapshot()).toEqual(before);
        expect((await c.query(`select count(*)::int as n from pg_roles where rolname = $1`, [s.options.appRole])).rows[0].n).toBe(0);
    });

    it("refuses a uuid id that nothing can reference (no primary key or unique index) the same way", async () => {
        await c.query(`create schema other; alter table users set schema other; create table users (id uuid, email text)`);
        const before = await snapshot();
        const error = await applyMigrations(c, migrationsFor(s.options)).catch((e) => e);
        expect(error.message).toMatch(/^0001_foundation\.sql: public\.users\.id is neither a primary key nor unique/);
        expect(await snapshot()).toEqual(before);
    });
});
