// The second session's check, asked once more on a new session when it fails (appeared.ts askElsewhere):
// a failed check never counts as a passed one, the sessions it opens are all closed, and the step
// runner refuses like a plain migration. From a fresh-eyes attack on 2fa38c0, whose first version
// took a check whose retry could open no session for a check that saw nothing. The second session is
// only asked when another transaction committed while the migration ran, so each test makes one do so.
import type { Client } from "pg";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { applyMigrations, describeVariant, readLedger, readRecords } from "../../engine/migrate/index";
import { readStepLedger } from "../../engine/migrate/step-ledger";
import { DEFAULT_OPTIONS, migrationsFor } from "../support/apply-sql";
import { dropRoles, freshDatabase, sharedServer, type TestDatabase } from "../support/database";
import { migration } from "../support/migrations";
import { commitMeanwhile } from "../support/commit-meanwhile";
import { until } from "../support/poll";

// 0014's SQL is the product's, so no lock can be put in it to make another session commit during its step: there, the
// engine's check says another transaction committed meanwhile, which makes the step ask the second session.
const checkSays = vi.hoisted(() => ({ committed: false }));
vi.mock("../../engine/migrate/snapshot", async (original) => {
    const actual = await original<typeof import("../../engine/migrate/snapshot")>();
    type Read = typeof actual.readAfterStatement;
    return {
        ...actual,
        readAfterStatement: (...args: Parameters<Read>) =>
            checkSays.committed
                ? actual.snapshotStatement(args[0], ["select true as committed"], false)!
                : actual.readAfterStatement(...args),
    };
});

let db: TestDatabase;
let client: Client;

beforeEach(async () => {
    db = await freshDatabase("observer_retry");
    client = await db.connect();
});

afterEach(async () => {
    await db.drop();
});

const first = migration("0001_base.sql", "create table public.base (id int primary key);\n");
const next = migration("0002_next.sql", "create table public.next (id int);\n");

/** The first session it opens ends itself when asked the check; every later connect fails (max_connections reached, say). */
function endingThenRefused(): { connect: () => Promise<Client>; calls: () => number } {
    let calls = 0;
    const connect = async () => {
        calls++;
        if (calls > 1) {
            throw new Error("sorry, too many clients already");
        }
        const observer = await db.connect();
        const query = observer.query.bind(observer) as (...args: unknown[]) => Promise<unknown>;
        (observer as unknown as { query: unknown }).query = (config: unknown, ...rest: unknown[]) =>
            typeof config === "object" && String((config as { name?: string }).name).includes("visible")
                ? query("select pg_terminate_backend(pg_backend_pid())")
                : query(config, ...rest);
        return observer;
    };
    return { connect, calls: () => calls };
}

describe("the second session fails its check and no new one can be opened", () => {
    // Was: the apply succeeded and recorded both tables as the stack's without any session
    // having checked that no other session committed them meanwhile; at 6740a6e (one attempt) the same
    // failure refused the migration naming the check. What should happen: refused as in "twice" of
    // apply-fast-path.test.ts ("the second session that checks ... failed"), nothing applied.
    it("refuses the migration naming the check, instead of taking the failed check for a passed one", async () => {
        const { connect, calls } = endingThenRefused();
        const meanwhile = await commitMeanwhile(db, 7101);
        const waiting = migration(first.name, meanwhile.sql + first.sql);
        const error = await applyMigrations(await db.connect(), [waiting, next], { variant: "jsonb", connect }).then(
            () => undefined,
            (failure: unknown) => failure as Error,
        );
        await meanwhile.committed;

        expect(calls()).toBeGreaterThanOrEqual(2);
        expect(error?.message).toMatch(/the second session that checks what another session committed meanwhile failed/);
        expect((await readLedger(client)).map((row) => row.name)).toEqual([]);
        expect(await readRecords(client)).toEqual([]);
    });
});

describe("connections after an apply whose second session was replaced mid-check", () => {
    // Pins that the ended watcher and its replacement are both closed when the apply returns:
    // only the migrating session (the caller's) is left on the database.
    it("leaves no session of its own behind", async () => {
        let opened = 0;
        const connect = async () => {
            const observer = await db.connect();
            const query = observer.query.bind(observer) as (...args: unknown[]) => Promise<unknown>;
            const first = opened++ === 0;
            let asked = false;
            (observer as unknown as { query: unknown }).query = (config: unknown, ...rest: unknown[]) => {
                if (first && !asked && typeof config === "object" && String((config as { name?: string }).name).includes("visible")) {
                    asked = true;
                    return query("select pg_terminate_backend(pg_backend_pid())");
                }
                return query(config, ...rest);
            };
            return observer;
        };
        const migrating = await db.connect();
        const meanwhile = await commitMeanwhile(db, 7102);
        const many = Array.from({ length: 12 }, (_, i) =>
            migration(`00${String(i + 1).padStart(2, "0")}_t.sql`, `${i === 0 ? meanwhile.sql : ""}create table public.t${i} (id int);\n`),
        );
        await applyMigrations(migrating, many, { variant: "jsonb", connect });
        await meanwhile.committed;

        expect(opened).toBe(2);
        const others = await until("the apply's other sessions to be gone", async () => {
            const { rows } = await client.query<{ n: number }>(
                "select count(*)::int as n from pg_stat_activity where datname = current_database() and pid <> all($1)",
                [
                    [
                        (await client.query("select pg_backend_pid() as p")).rows[0].p,
                        (await migrating.query("select pg_backend_pid() as p")).rows[0].p,
                    ],
                ],
            );
            return rows[0].n === 0 ? rows[0].n : undefined;
        });
        expect(others).toBe(0);
    });
});

describe("the second session failing for good during a step of 0014 (the step runner)", () => {
    // Pins that the step runner's check refuses like a plain migration's: the step rolled back,
    // the earlier steps kept, the message naming the migration, the check and the step's outcome; the
    // next apply finishes the migration.
    it("refuses the step naming the check, and the next apply finishes it", async () => {
        const schema = { ...DEFAULT_OPTIONS, appRole: "observer_retry_app", adminRole: "observer_retry_admin" };
        const connect = async () => {
            const observer = await db.connect();
            const query = observer.query.bind(observer) as (...args: unknown[]) => Promise<unknown>;
            (observer as unknown as { query: unknown }).query = (config: unknown, ...rest: unknown[]) =>
                checkSays.committed && typeof config === "object" && String((config as { name?: string }).name).includes("visible")
                    ? query("select pg_terminate_backend(pg_backend_pid())")
                    : query(config, ...rest);
            return observer;
        };
        const options = { variant: describeVariant(schema), schema, grantRoles: true };
        const migrating = await db.connect();
        try {
            const error = await applyMigrations(migrating, migrationsFor(schema), {
                ...options,
                connect,
                onProgress: ({ name }) => {
                    checkSays.committed ||= name === "0013_similarity_derived.sql";
                },
            }).then(
                () => undefined,
                (failure: unknown) => failure as Error,
            );

            expect(error?.message).toMatch(
                /^0014_similarity_jsonb_fast\.sql: the second session that checks what another session committed meanwhile failed/,
            );
            expect(error?.message).toContain("0014_similarity_jsonb_fast.sql step search was rolled back; the steps before it stay done");
            // On a new database the batches found no row: their rows were to go with the search step's (steps-deferred-rows.test.ts).
            expect(error?.message).toContain("derive_goals and derive_beliefs found nothing to do and look again first.");
            expect((await readLedger(client)).map((row) => row.name)).not.toContain("0014_similarity_jsonb_fast.sql");
            expect(await readStepLedger(client)).toEqual([]);

            checkSays.committed = false;
            await applyMigrations(await db.connect(), migrationsFor(schema), { ...options, connect });
            expect((await readLedger(client)).map((row) => row.name)).toContain("0014_similarity_jsonb_fast.sql");
        } finally {
            await db.drop();
            await dropRoles(sharedServer(), [schema.appRole, schema.adminRole]);
        }
    });
});
