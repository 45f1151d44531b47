// The seed's application tables (users, dealers, robots, prequalifications, tenants, threads,
// thread_messages, agent_versions, alembic_version) with a few rows each, and a fingerprint of
// every row, to prove that applying and rolling back the memory schema leaves them as they were.
import type { Client } from "pg";

export const APPLICATION_TABLES = [
    "users", "tenants", "dealers", "robots", "prequalifications", "threads", "thread_messages", "agent_versions", "alembic_version",
] as const;

const CREATE = `
create table users (id uuid primary key, email text not null unique, full_name text, created_at timestamptz not null default '2025-01-01');
create table tenants (id uuid primary key, name text not null);
create table dealers (id uuid primary key, tenant_id uuid not null references tenants on delete cascade, name text not null);
create table robots (id uuid primary key, dealer_id uuid not null references dealers on delete cascade, serial text not null);
create table prequalifications (id uuid primary key, user_id uuid not null references users on delete cascade,
    dealer_id uuid references dealers on delete set null, amount numeric(12, 2) not null);
create table threads (id uuid primary key, user_id uuid not null references users on delete cascade, title text);
create table thread_messages (id uuid primary key, thread_id uuid not null references threads on delete cascade, role text not null, content text not null);
create table agent_versions (id serial primary key, agent_name text not null, version text not null);
create table alembic_version (version_num varchar(32) primary key);

insert into users (id, email, full_name) values
    ('00000000-0000-4000-8000-000000000001', 'ada@example.com', 'Ada'),
    ('00000000-0000-4000-8000-000000000002', 'bob@example.com', null);
insert into tenants values ('00000000-0000-4000-8000-000000000101', 'North');
insert into dealers values ('00000000-0000-4000-8000-000000000201', '00000000-0000-4000-8000-000000000101', 'Dealer One');
insert into robots values ('00000000-0000-4000-8000-000000000301', '00000000-0000-4000-8000-000000000201', 'RB-1');
insert into prequalifications values ('00000000-0000-4000-8000-000000000401', '00000000-0000-4000-8000-000000000001',
    '00000000-0000-4000-8000-000000000201', 12500.50);
insert into threads values ('00000000-0000-4000-8000-000000000501', '00000000-0000-4000-8000-000000000001', 'Financing');
insert into thread_messages values ('00000000-0000-4000-8000-000000000601', '00000000-0000-4000-8000-000000000501', 'user', 'Hi; can I qualify?');
insert into agent_versions (agent_name, version) values ('sales', '1.4.0'), ('support', '0.9.2');
insert into alembic_version values ('a1b2c3d4e5f6');
`;

export const SEED_USER_ID = "00000000-0000-4000-8000-000000000001";

export async function createApplicationTables(client: Client): Promise<void> {
    await client.query(CREATE);
}

/** md5 over every row of every application table, as text, in a stable order. */
export async function fingerprint(client: Client): Promise<Record<string, string>> {
    const parts = APPLICATION_TABLES.map((table) =>
        `select '${table}' as name, md5(coalesce(string_agg(t::text, E'\\n' order by t::text), '')) as digest, count(*)::int as rows from public.${table} t`);
    const result = await client.query<{ name: string; digest: string; rows: number }>(parts.join(" union all "));
    return Object.fromEntries(result.rows.map((row) => [row.name, `${row.rows}:${row.digest}`]));
}
