// attack9: a run's first migration sends ENSURE_LEDGER with its begin, in a transaction on the engine's search_path
// (public first, pg_catalog implied ahead of it). Its check `attrelid = pg_catalog.to_regclass(…)` compares an oid with
// a regclass: pg_catalog has no `=(oid, regclass)`, only `=(oid, oid)` through a cast, so an exact `public.=(oid,
// regclass)` that a role able to create in public planted wins, and runs with the migrating role's rights. The same
// comparison was in a concurrent index build's recordIndexAhead and index-build.ts (a `no transaction` step), whose memory
// sizing also called count(e0) and pg_column_size(e0): a public one taking the column's own type beats pg_catalog's "any".
import type { Client } from "pg";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { applyMigrations } from "../../engine/migrate/index";
import { freshDatabase, withClient, type TestDatabase } from "../support/database";
import { migration } from "../support/migrations";
import { plantedEqualsRan, plantingSession, plantOidRegclassEquals } from "../support/planted";

const PLANTER = "attack9_oid_planter";
const PASSWORD = "attack9-oid-planter-password";
let db: TestDatabase;
let client: Client;
let planter: Client;

beforeAll(async () => {
    db = await freshDatabase("attack9_oid");
    client = await db.connect();
    planter = await plantingSession(client, db.config, PLANTER, PASSWORD, true);
    await plantOidRegclassEquals(planter);
});

afterAll(async () => {
    await planter?.end().catch(() => undefined);
    await db?.drop();
    await client?.end().catch(() => undefined);
    await withClient({ ...db.config, database: "postgres" }, (admin) => admin.query(`drop role if exists ${PLANTER}`)).catch(
        () => undefined,
    );
});

beforeEach(async () => {
    await plantedEqualsRan(client, true);
});

const ran = () => plantedEqualsRan(client);

/** Two plain files, then a step that builds an index concurrently on the first one's table. */
const indexProgram = () => [
    migration("0001_attack9_table.sql", "create table public.attack9_notes (id int primary key, body text);\n"),
    migration("0002_attack9_more.sql", "create table public.attack9_more (id int primary key);\n"),
    migration(
        "0003_attack9_index.sql",
        `-- step: notes_body no transaction
create index concurrently if not exists attack9_notes_body on public.attack9_notes (body);`,
    ),
];

describe("a role that can create in public, against the engine's statements on the engine's search_path", () => {
    // The check filters on attname first (the planted function costs more): a column named origin or recorded makes it compare.
    it("gets nothing run by an apply on a database where a table has a column named origin (ENSURE_LEDGER with its begin)", async () => {
        await planter.query("create table public.attack9_bait (origin int, recorded int)");
        await applyMigrations(
            client,
            [migration("0001_attack9_table.sql", "create table public.attack9_notes (id int primary key, body text);\n")],
            {
                variant: "jsonb",
            },
        );
        expect((await client.query("select to_regclass('public.attack9_notes') is not null as made")).rows[0].made).toBe(true);
        // Fails: LEDGER_CURRENT's attrelid = pg_catalog.to_regclass(…) resolves to the planted operator.
        expect(await ran()).toBe(false);
    });

    it("gets nothing run by the next apply (the ledger's own columns are named so)", async () => {
        await planter.query("drop table public.attack9_bait");
        await applyMigrations(
            client,
            [
                migration("0001_attack9_table.sql", "create table public.attack9_notes (id int primary key, body text);\n"),
                migration("0002_attack9_more.sql", "create table public.attack9_more (id int primary key);\n"),
            ],
            { variant: "jsonb" },
        );
        expect((await client.query("select to_regclass('public.attack9_more') is not null as made")).rows[0].made).toBe(true);
        expect(await ran()).toBe(false);
    });

    it("gets nothing run by an apply whose migration builds an index concurrently (a step's begin, recordIndexAhead)", async () => {
        const program = indexProgram();
        await applyMigrations(client, program, { variant: "jsonb" });
        expect((await client.query("select to_regclass('public.attack9_notes_body') is not null as built")).rows[0].built).toBe(true);
        // Fails: the step's ENSURE_LEDGER, and recordIndexAhead's c.oid = pg_catalog.to_regclass(…) / x.indexrelid = ….
        expect(await ran()).toBe(false);
    });

    it("gets nothing run by the memory sizing of an index build (a closer pg_column_size(text), an aggregate count(text))", async () => {
        await planter.query(`
            create sequence public.attack9_seen_size;
            grant usage, update, select on sequence public.attack9_seen_size to public;
            create function public.pg_column_size(text) returns integer language plpgsql as $$
            begin
                perform pg_catalog.setval('public.attack9_seen_size', 1);
                return pg_catalog.octet_length($1);
            end
            $$;
            create function public.attack9_count_step(bigint, text) returns bigint language plpgsql as $$
            begin
                perform pg_catalog.setval('public.attack9_seen_size', 1);
                return $1 operator(pg_catalog.+) 1;
            end
            $$;
            create aggregate public.count(text) (sfunc = public.attack9_count_step, stype = bigint, initcond = '0');`);
        await client.query("insert into public.attack9_notes values (1, 'one'), (2, 'two')");
        const program = [
            ...indexProgram(),
            migration(
                "0004_attack9_index.sql",
                `-- step: notes_body_desc no transaction
create index concurrently if not exists attack9_notes_body_desc on public.attack9_notes (body desc);`,
            ),
        ];
        await applyMigrations(client, program, { variant: "jsonb" });
        expect((await client.query("select to_regclass('public.attack9_notes_body_desc') is not null as built")).rows[0].built).toBe(true);
        // Fails: sizeMaintenanceWorkMem's count(e0) and pg_column_size(e0) on the text column resolve to the planted ones.
        expect((await client.query<{ called: boolean }>("select is_called as called from public.attack9_seen_size")).rows[0].called).toBe(
            false,
        );
    });
});
