// A first migration on a fresh database whose own statements wait past lock_timeout behind an application's lock:
// the transaction is rolled back (the ledger its begin created with it) and retried whole, with its begin (the ledger,
// the catalog's shape and the origin, ORIGIN_WITH_LEDGER_SQL) and the catalog read prepared by the first attempt.
// What it created must be recorded with the oid it has after the retry and this database's origin, and what it only
// altered (the application's table) never.
import type { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyMigrations } from "../../engine/migrate/index";
import { freshDatabase, type TestDatabase } from "../support/database";
import { migration } from "../support/migrations";
import { until } from "../support/poll";

let db: TestDatabase;
let holder: Client;

beforeAll(async () => {
    db = await freshDatabase("attack13_first_retried");
    holder = await db.connect();
    await holder.query("create table public.app_table (id int)");
});

afterAll(async () => {
    await holder?.end();
    await db?.drop();
});

describe("a first migration retried after its statements waited on an application's lock", () => {
    it("records what it created under the oid it has and this database's origin, and not the application's table", async () => {
        await holder.query("begin; lock table public.app_table in access share mode");
        const waits: string[] = [];
        const client = await db.connect();
        try {
            const applying = applyMigrations(
                client,
                [
                    migration(
                        "0001_first.sql",
                        "create table public.first_made (id int);\nalter table public.app_table add column note text;",
                    ),
                ],
                {
                    variant: "jsonb",
                    locks: { timeoutMs: 100, deadlineSeconds: 30 },
                    onWait: (line) => waits.push(line),
                    connect: () => db.connect(),
                },
            );
            await until("a retry of the first migration", () => (waits.length > 0 ? true : undefined), 20_000);
            await holder.query("commit");
            const result = await applying;
            expect(result.waits.retries).toBeGreaterThan(0);

            const check = await db.connect();
            const { rows } = await check.query<{ identity: string; oid_matches: boolean; origin_matches: boolean }>(
                `select c.identity, (to_jsonb(c) ->> 'oid')::bigint = to_regclass('public.first_made')::oid::bigint as oid_matches,
                        to_jsonb(c) ->> 'origin' = (select system_identifier::text from pg_control_system()) || '/'
                            || (select oid::text from pg_database where datname = current_database()) as origin_matches
                   from memory_stack.created_objects c where c.identity like 'table public.%' order by 1`,
            );
            expect(rows).toEqual([{ identity: "table public.first_made", oid_matches: true, origin_matches: true }]);
        } finally {
            await holder.query("rollback").catch(() => undefined);
            await client.end();
        }
    });
});
