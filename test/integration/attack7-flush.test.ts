// attack7: the run's one WAL flush (lock.ts) is pg_logical_emit_message, which PostgreSQL grants to
// PUBLIC and a hardened database may revoke (function privileges are per database). The flush goes in
// one query with the lock's release and the caller's search_path: when it is refused, neither of those
// runs. A library caller's connection then keeps the migration lock (every other apply or rollback on the
// database waits for it until the deadline) and search_path pg_catalog, pg_temp; and the apply throws
// "permission denied" though its migration committed (the ledger lists it). After a COMMIT whose reply was
// lost, the new session's flush (lost-commit.ts) is refused too: the truth the ledger holds is never read,
// and the error blames the reconnection.
import type { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyMigrations, MIGRATION_LOCK_KEY, readLedger } from "../../engine/migrate/index";
import { startCommitCuttingProxy } from "../support/commit-cutting-proxy";
import { dropRoles, freshDatabase, type TestDatabase } from "../support/database";
import { migration } from "../support/migrations";

const OWNER = "attack7_flush_owner";
const PASSWORD = "attack7-flush-owner-password";
let db: TestDatabase;
let admin: Client;
let owner: Client;

beforeAll(async () => {
    db = await freshDatabase("attack7_flush");
    admin = await db.connect();
    await dropRoles(db.server, [OWNER]);
    await admin.query(`create role ${OWNER} login password '${PASSWORD}'`);
    // A managed server's migrating role: the database's owner, not a superuser.
    await admin.query(`alter database "${db.name}" owner to ${OWNER}`);
    await admin.query("revoke execute on function pg_catalog.pg_logical_emit_message(boolean, text, text) from public");
    owner = new (await import("pg")).Client({ ...db.config, user: OWNER, password: PASSWORD });
    await owner.connect();
    await owner.query(`set search_path = "app's schema", public`);
});

afterAll(async () => {
    await owner?.end().catch(() => undefined);
    await db?.drop();
    await dropRoles(db.server, [OWNER]);
});

describe("an apply by a role that may not run pg_logical_emit_message", () => {
    it("reports the migration it committed as applied, and leaves the connection as it found it", async () => {
        const error = await applyMigrations(
            owner,
            [migration("0001_attack7_flush.sql", "create table public.attack7_flushed (id int);\n")],
            {
                variant: "jsonb",
            },
        ).then(
            () => undefined,
            (e: unknown) => e,
        );
        const held = await admin.query(
            `select count(*)::int as n from pg_locks where locktype = 'advisory' and pid = $1
                and classid = ($2::bigint >> 32)::oid and objid = ($2::bigint & 4294967295)::oid`,
            [(owner as Client & { processID: number }).processID, MIGRATION_LOCK_KEY],
        );
        const path = (await owner.query<{ search_path: string }>("show search_path")).rows[0].search_path;
        await owner.end(); // what releases the lock left held, for the next test
        expect((await readLedger(admin)).map((row) => row.name)).toEqual(["0001_attack7_flush.sql"]);
        // Fails (all three): the apply throws "permission denied for function pg_logical_emit_message" after the
        // commit, and the unlock and the search_path's restore, sent after the flush in the same query, never ran.
        expect({ error: (error as Error | undefined)?.message, held: held.rows[0].n, path }).toEqual({
            error: undefined,
            held: 0,
            path: `"app's schema", public`,
        });
    });
});

describe("a lost COMMIT reply for a role that may not run pg_logical_emit_message", () => {
    it("is answered from the ledger", async () => {
        const proxy = await startCommitCuttingProxy(db.server);
        const { Client } = await import("pg");
        const viaProxy = new Client({ ...db.config, host: proxy.host, port: proxy.port, user: OWNER, password: PASSWORD });
        viaProxy.on("error", () => undefined); // the cut ends it
        await viaProxy.connect();
        try {
            const files = [
                migration("0001_attack7_flush.sql", "create table public.attack7_flushed (id int);\n"),
                migration("0002_attack7_cut.sql", "create table public.attack7_cut (id int);\n"),
            ];
            const done = (await readLedger(admin)).map((row) => row.name);
            const cut = files.find((file) => !done.includes(file.name))!.name;
            proxy.arm("after");
            const error = await applyMigrations(viaProxy, files, {
                variant: "jsonb",
                connect: async () => {
                    const fresh = new Client({ ...db.config, user: OWNER, password: PASSWORD });
                    await fresh.connect();
                    return fresh;
                },
            }).catch((e: unknown) => e);
            expect((await readLedger(admin)).map((row) => row.name)).toContain(cut);
            // Fails: "whether … was applied is unknown … (could not reconnect: permission denied for function
            // pg_logical_emit_message)", after 10 s of reconnecting, though the ledger lists it.
            expect((error as Error).message).toContain(`a new connection read the ledger: the ledger lists ${cut}`);
        } finally {
            await viaProxy.end().catch(() => undefined);
            await proxy.close();
        }
    }, 30_000);
});
