// The seed's application tables, shaped like a typical SQLAlchemy/alembic app — uuid, serial and
// bigserial keys, a users table with columns of its own, foreign keys with and without `on delete`,
// jsonb, arrays, point, numeric, timestamps with and without time zone, quotes and non-ASCII text —
// with rows in each, and a fingerprint of every row, to prove that applying and rolling back the
// memory schema leaves them as they were.
import type { Client } from "pg";
import { USERS_MEMORY_COLUMNS } from "../../engine/migrate/manifest";

export const APPLICATION_TABLES = [
    "users",
    "dealers",
    "robots",
    "prequalifications",
    "tenants",
    "threads",
    "thread_messages",
    "agent_versions",
    "alembic_version",
] as const;

// {{uuid}}: the id default, uuid_generate_v4() or gen_random_uuid() (see createApplicationTables).
const TABLES = `
create table tenants (id uuid primary key default {{uuid}}, name text not null unique, settings jsonb default '{}', created_at timestamptz default now());
create table users (id uuid primary key default {{uuid}}, tenant_id uuid references tenants (id), email varchar(255) not null unique,
    hashed_password text, full_name text, is_active boolean default true, roles text[] default '{user}', created_at timestamptz default now(),
    updated_at timestamp);
create index ix_users_tenant on users (tenant_id);
create table dealers (id serial primary key, tenant_id uuid references tenants (id) on delete cascade, name text, rating numeric(3, 2), location point);
create table robots (id uuid primary key default {{uuid}}, dealer_id int references dealers (id), model text, specs jsonb, price numeric(12, 2));
create table prequalifications (id uuid primary key default {{uuid}}, user_id uuid references users (id) on delete cascade,
    robot_id uuid references robots (id), amount numeric, status text check (status in ('pending', 'approved', 'rejected')), decided_at timestamptz);
create table threads (id uuid primary key default {{uuid}}, user_id uuid references users (id), title text, created_at timestamptz default now());
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

export interface ApplicationOptions {
    /**
     * The application installed uuid-ossp itself and its id defaults use it: the memory schema finds
     * it there and must leave it on rollback. Otherwise the ids default to the core gen_random_uuid()
     * and uuid-ossp is the schema's to create and remove. Default: false.
     */
    uuidOssp?: boolean;
}

export async function createApplicationTables(client: Client, options: ApplicationOptions = {}): Promise<void> {
    const extension = options.uuidOssp ? `create extension "uuid-ossp";` : "";
    await client.query(extension + TABLES.replaceAll("{{uuid}}", options.uuidOssp ? "uuid_generate_v4()" : "gen_random_uuid()"));
}

/** The user with the lowest id: the first of the two users verification borrows. Ids are random, so it is looked up. */
export async function firstApplicationUser(client: Client): Promise<string> {
    return (await client.query<{ id: string }>("select id from public.users order by id limit 1")).rows[0].id;
}

/**
 * Row count and md5 of each application table's rows as text, in a stable order; for users, of its
 * application columns only, so the fingerprint is the same with and without the memory columns.
 */
export async function fingerprint(client: Client): Promise<Record<string, string>> {
    const {
        rows: [{ columns }],
    } = await client.query<{ columns: string }>(
        `select string_agg(format('t.%I', column_name), ', ' order by ordinal_position) as columns from information_schema.columns
         where table_schema = 'public' and table_name = 'users' and column_name <> all($1)`,
        [USERS_MEMORY_COLUMNS],
    );
    const parts = APPLICATION_TABLES.map((table) => {
        const row = table === "users" ? `row(${columns})::text` : "t::text";
        return `select '${table}' as name, count(*) || ':' || md5(coalesce(string_agg(${row}, E'\\n' order by ${row}), '')) as digest from public.${table} t`;
    });
    const result = await client.query<{ name: string; digest: string }>(parts.join(" union all "));
    return Object.fromEntries(result.rows.map((row) => [row.name, row.digest]));
}
