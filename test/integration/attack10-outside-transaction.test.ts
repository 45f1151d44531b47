// attack10: the build stores with each statement whether PostgreSQL refuses it inside a transaction block
// (Statement.outsideTransaction), and a migration file without steps, or a transactional step, holding one is refused before
// anything runs, saying to put it in a `no transaction` step. Asked of PostgreSQL itself: each statement below runs in a
// transaction block that is then rolled back, and the flag must say what the server said (SQLSTATE 25001). The flag knew
// create/drop index concurrently, reindex … concurrently and vacuum only: `alter table … detach partition … concurrently`,
// reindex schema/database/system, cluster of every table, discard all, alter system and the database and tablespace
// statements ran in the migration's transaction and failed there; `reindex (concurrently false)` was taken for one PostgreSQL
// refuses. (Which statements a table's kind decides, cluster or reindex of a partitioned table, fail at run time as before.)
import type { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyMigrations, readLedger } from "../../engine/migrate/index";
import { splitStatements } from "../../engine/migrate/statements";
import { freshDatabase, type TestDatabase } from "../support/database";
import { migration } from "../support/migrations";

let db: TestDatabase;
let client: Client;

beforeAll(async () => {
    db = await freshDatabase("attack10_outside");
    client = await db.connect();
    await client.query(`create table public.t (id int primary key, v int);
        create index i on public.t (v);
        create table public.p (id int) partition by range (id);
        create table public.p1 partition of public.p for values from (0) to (10);
        create materialized view public.mv as select 1 as one;
        create unique index mv_one on public.mv (one);`);
});

afterAll(async () => {
    await db?.drop();
});

const STATEMENTS = [
    "create index concurrently if not exists i2 on public.t (v)",
    "create index i3 on public.t (v)",
    "drop index concurrently public.i",
    "drop index public.i",
    "reindex index concurrently public.i",
    "reindex (concurrently) table public.t",
    "reindex (concurrently false) table public.t",
    "reindex (concurrently 0) table public.t",
    "reindex (concurrently on) table public.t",
    "reindex table public.t",
    "reindex schema public",
    "reindex (concurrently) schema public",
    "reindex database current_database_placeholder",
    "reindex system current_database_placeholder",
    "vacuum",
    "vacuum public.t",
    "vacuum (analyze) public.t",
    "analyze public.t",
    "cluster",
    "cluster public.t using t_pkey",
    "alter table public.p detach partition public.p1 concurrently",
    "alter table public.p detach partition public.p1",
    "discard all",
    "discard plans",
    "alter system set work_mem = '4MB'",
    "create database attack10_never",
    "drop database if exists attack10_never",
    "alter database current_database_placeholder set tablespace pg_default",
    "alter database current_database_placeholder set work_mem = '4MB'",
    "create tablespace attack10_never location '/nonexistent'",
    "drop tablespace if exists attack10_never",
    "refresh materialized view concurrently public.mv",
    "alter type public.mood add value 'c'",
    "checkpoint",
];

describe("Statement.outsideTransaction", () => {
    it("says what PostgreSQL says of each statement inside a transaction block", async () => {
        const name = (await client.query<{ name: string }>("select current_database() as name")).rows[0].name;
        await client.query("create type public.mood as enum ('a', 'b')");
        const disagreements: string[] = [];
        for (const template of STATEMENTS) {
            const sql = template.replaceAll("current_database_placeholder", name);
            await client.query("begin");
            const refused = await client.query(sql).then(
                () => false,
                (error: { code?: string }) => error.code === "25001",
            );
            await client.query("rollback");
            const [statement] = await splitStatements(sql);
            if (statement.outsideTransaction !== refused) {
                disagreements.push(`${sql}: PostgreSQL ${refused ? "refuses" : "runs"} it in a transaction block`);
            }
        }

        expect(disagreements).toEqual([]);
    });

    it("refuses a migration file that detaches a partition concurrently before it runs, saying to give it a step of its own; run so, it applies", async () => {
        const base = migration(
            "0001_attack10_events.sql",
            "create table public.events (id int) partition by range (id);\ncreate table public.events_old partition of public.events for values from (0) to (10);\n",
        );
        const detach = "alter table public.events detach partition public.events_old concurrently;\n";
        const refused = await applyMigrations(client, [base, migration("0002_attack10_detach.sql", detach)], { variant: "jsonb" }).then(
            () => undefined,
            (error: unknown) => error as Error,
        );

        expect(refused?.message).toContain(
            '0002_attack10_detach.sql line 1: "alter table public.events detach partition public.events_old concurrently" cannot run inside a transaction; put it in a step of its own: -- step: <name> no transaction',
        );
        expect((await readLedger(client)).map((row) => row.name)).toEqual([base.name]);

        await applyMigrations(client, [base, migration("0002_attack10_detach.sql", `-- step: detach no transaction\n${detach}`)], {
            variant: "jsonb",
        });
        expect(
            (await client.query("select count(*)::int as n from pg_inherits where inhparent = 'public.events'::regclass")).rows[0].n,
        ).toBe(0);
    });
});
