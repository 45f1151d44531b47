// attack7: committedSinceStatement (snapshot.ts) against the commits it must not miss: two-phase commit
// (PREPARE TRANSACTION before the catalog read or within the window, COMMIT PREPARED in it), a transaction
// whose subtransactions overflowed the snapshot's cache (over 64), and a commit in another database of the
// cluster (roles are the cluster's). On a server of its own (xids are the whole server's) with prepared
// transactions enabled and autovacuum off. These pass: they pin the claim.
import { Client } from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { committedSinceStatement } from "../../engine/migrate/snapshot";
import { startEmbeddedPostgres, type RunningServer } from "../support/embedded-server";

let server: RunningServer;
const clients: Client[] = [];
let migrating: Client;
let other: Client;

async function connect(database: string): Promise<Client> {
    const client = new Client({ host: server.host, port: server.port, user: server.user, password: server.password, database });
    await client.connect();
    clients.push(client);
    return client;
}

beforeAll(async () => {
    server = await startEmbeddedPostgres({ flags: ["-c", "autovacuum=off", "-c", "max_prepared_transactions=4"] });
    const admin = await connect("postgres");
    await admin.query("create database attack7_quiet");
    await admin.query("create database attack7_elsewhere");
}, 60_000);

afterAll(async () => {
    await Promise.all(clients.splice(0).map((client) => client.end().catch(() => undefined)));
    await server?.stop();
});

afterEach(async () => {
    await migrating?.query("rollback").catch(() => undefined);
});

/** A transaction that completes: the next snapshot's xmax passes the xids before it, so those still running go in its xip. */
async function completeOne(): Promise<void> {
    const third = await connect("attack7_quiet");
    await third.query("select pg_current_xact_id()");
}

async function begin(): Promise<string> {
    migrating ??= await connect("attack7_quiet");
    other ??= await connect("attack7_quiet");
    await migrating.query("begin");
    return (await migrating.query<{ mark: string }>("select pg_current_snapshot()::text as mark")).rows[0].mark;
}

async function committedSince(mark: string): Promise<boolean | null> {
    return (await migrating.query<{ committed: boolean | null }>(committedSinceStatement(mark))).rows[0].committed;
}

describe("whether another transaction committed since a catalog read", () => {
    it("is true when a transaction prepared before the read is committed (COMMIT PREPARED) after it", async () => {
        migrating ??= await connect("attack7_quiet");
        other ??= await connect("attack7_quiet");
        await other.query("begin; create role attack7_quiet_2pc_a; prepare transaction 'attack7_a'");
        await completeOne();
        const mark = await begin();
        expect(await committedSince(mark)).toBe(false);
        await other.query("commit prepared 'attack7_a'");
        expect(await committedSince(mark)).toBe(true);
    });

    it("is true when a transaction is prepared and committed within the window", async () => {
        const mark = await begin();
        await other.query("begin; create role attack7_quiet_2pc_b; prepare transaction 'attack7_b'");
        expect(await committedSince(mark)).toBe(false);
        await other.query("commit prepared 'attack7_b'");
        expect(await committedSince(mark)).toBe(true);
    });

    it("is true when a transaction with over 64 subtransactions, in progress at the read, commits after it", async () => {
        await other.query("begin");
        for (let i = 0; i < 70; i++) {
            await other.query(`savepoint s${i}; create table attack7_sub_${i} (x int)`);
        }
        await completeOne();
        const mark = await begin();
        expect(await committedSince(mark)).toBe(false);
        await other.query("commit");
        expect(await committedSince(mark)).toBe(true);
    });

    it("is true when a transaction commits in another database of the cluster (a role, say)", async () => {
        const elsewhere = await connect("attack7_elsewhere");
        const mark = await begin();
        await elsewhere.query("create role attack7_quiet_elsewhere");
        expect(await committedSince(mark)).toBe(true);
    });
});
