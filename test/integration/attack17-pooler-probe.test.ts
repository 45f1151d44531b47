// The transaction-pooler probe (engine/db/pooler.ts) against Debian's PgBouncer set up the ways that fooled a
// probe that tried once: a busy pooler, poolers that keep sessions as they were, round-robin hand-out; and the
// session poolers it must still let through. (A pooler that keeps sessions and is busy meanwhile is still missed
// once in 1,800 probes; no test here asserts on a rate.)
import { Client, type ClientConfig } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PoolMode } from "../../engine/config/config";
import { findTransactionPooler } from "../../engine/db/pooler";
import { freshDatabase, type TestDatabase } from "../support/database";
import { findPgBouncer, startOwnerPgBouncer, type RunningPgBouncer } from "../support/pgbouncer";

const binary = findPgBouncer();
if (!binary) {
    it.skip("transaction-pooler probe: pgbouncer is not installed (apt-get install pgbouncer)", () => undefined);
}

// PgBouncer's own default for transaction mode: the server session is not reset between clients.
const NO_RESET = (ini: string) => ini.replace("server_reset_query_always = 1", "server_reset_query_always = 0");
const ROUND_ROBIN = (ini: string) => `${ini}server_round_robin = 1\n`;

describe.skipIf(!binary)("the transaction-pooler probe through PgBouncer", () => {
    let db: TestDatabase;
    const bouncers: RunningPgBouncer[] = [];
    const clients: Client[] = [];

    beforeAll(async () => {
        db = await freshDatabase("attack17_probe");
    });

    afterAll(async () => {
        await Promise.all(clients.map((client) => client.end().catch(() => undefined)));
        await Promise.all(bouncers.map((bouncer) => bouncer.stop()));
        await db?.drop();
    });

    async function pooler(
        mode: PoolMode,
        poolSize: number,
        edit: (ini: string) => string = (ini) => ini,
        maxClientConn = 250,
    ): Promise<() => Promise<Client>> {
        const bouncer = await startOwnerPgBouncer(db, { mode, defaultPoolSize: poolSize, reservePoolSize: 0, maxClientConn }, edit);
        bouncers.push(bouncer);
        const settings: ClientConfig = {
            host: bouncer.host,
            port: bouncer.port,
            database: db.name,
            user: db.server.user,
            password: db.server.password,
        };
        return async () => {
            const client = new Client(settings);
            client.on("error", () => undefined);
            await client.connect();
            clients.push(client);
            return client;
        };
    }

    /** `count` servers in the pool, idle: what a pooler that served that many transactions at once keeps. */
    async function warm(open: () => Promise<Client>, count: number): Promise<void> {
        const held = await Promise.all(Array.from({ length: count }, open));
        for (const client of held) {
            await client.query("begin; select 1");
        }
        for (const client of held) {
            await client.query("commit");
            await client.end();
        }
    }

    /** The probe `times` over, each on a connection of its own; how many found a transaction pooler. */
    async function probes(open: () => Promise<Client>, times: number): Promise<number> {
        let found = 0;
        for (let i = 0; i < times; i++) {
            const client = await open();
            found += (await findTransactionPooler(client, open)) === undefined ? 0 : 1;
            await client.end();
        }
        return found;
    }

    /** Clients running short transactions back to back, as agents do, until the returned stop is called. */
    async function busy(open: () => Promise<Client>): Promise<() => Promise<void>> {
        const workers = await Promise.all([open(), open(), open()]);
        let running = true;
        const loops = workers.map(async (worker) => {
            while (running) {
                await worker.query("begin; select pg_sleep(0.002); commit");
            }
        });
        return async () => {
            running = false;
            await Promise.all(loops);
        };
    }

    it("finds the stack's own transaction pooler every time while agents keep it busy (a single try missed 1 to 6 in 150)", async () => {
        const open = await pooler("transaction", 6);
        const stop = await busy(open);
        try {
            expect(await probes(open, 100)).toBe(100);
        } finally {
            await stop();
        }
    });

    it.each([
        ["keeps sessions as they were (no reset) and hands out idle servers in turn", (ini: string) => ROUND_ROBIN(NO_RESET(ini)), 5],
        ["keeps sessions as they were and hands out the last idle server first", NO_RESET, 5],
    ])("finds a transaction pooler that %s", async (_, edit, idle) => {
        const open = await pooler("transaction", 6, edit);
        await warm(open, idle);
        expect(await probes(open, 10)).toBe(10);
    });

    // A pooler that took this connection and refuses the next (max_client_conn reached) once passed for a
    // single-connection server, and the apply went ahead through it.
    it("finds a transaction pooler that refuses the probe's second connection, keeping sessions as they were or not", async () => {
        for (const edit of [(ini: string) => ini, NO_RESET]) {
            const open = await pooler("transaction", 2, edit, 2);
            await open(); // an application's connection: the probe's client is the last one PgBouncer takes
            const client = await open();
            const found = await findTransactionPooler(client, open);
            await client.end();
            expect(found?.evidence).toMatch(/refused a second connection/);
        }
    });

    it.each([
        ["with idle servers handed out in turn", ROUND_ROBIN, 5],
        ["with idle servers", (ini: string) => ini, 5],
    ])("lets a session pooler through %s", async (_, edit, idle) => {
        const open = await pooler("session", 8, edit);
        await warm(open, idle);
        expect(await probes(open, 5)).toBe(0);
    });

    it("lets a session pooler through whose every server is taken: the probe's own connections wait, and it stops waiting", async () => {
        const open = await pooler("session", 2);
        await (await open()).query("select 1"); // holds one server for the whole test
        const client = await open(); // the other
        const started = Date.now();
        expect(await findTransactionPooler(client, open)).toBeUndefined();
        expect(Date.now() - started).toBeLessThan(10_000);
    });
});
