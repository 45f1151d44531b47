// attack10: a migration after another of the run sends the check on the carried catalog (did a transaction other than the
// run's own commit since it was read?) first in its file's query. When that query failed for a reason of its own, a deadlock
// the server broke by cancelling the migration's statement, the file ran again statement by statement and succeeded; its
// catalog before then stood as of the carried read itself, so the check the records make of it counted the previous
// migration's own commit as another session's. Without a second session to ask (the server out of connections) the
// migration was refused, "another transaction committed while it ran", when none had. Xids are the whole server's: a server
// of its own, autovacuum off, where nothing else commits.
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyMigrations, readLedger, readRecords } from "../../engine/migrate/index";
import { startEmbeddedPostgres, type RunningServer } from "../support/embedded-server";
import { migration } from "../support/migrations";
import { until } from "../support/poll";

let server: RunningServer;
const clients: Client[] = [];

beforeAll(async () => {
    server = await startEmbeddedPostgres({ flags: ["-c", "autovacuum=off", "-c", "deadlock_timeout=200ms"] });
    const admin = await connect("postgres");
    await admin.query("create database attack10_rerun");
}, 60_000);

afterAll(async () => {
    await Promise.all(clients.map((client) => client.end().catch(() => undefined)));
    await server?.stop();
});

async function connect(database = "attack10_rerun"): Promise<Client> {
    const client = new Client({ host: server.host, port: server.port, user: server.user, password: server.password, database });
    client.on("error", () => undefined);
    await client.connect();
    clients.push(client);
    return client;
}

describe("a migration after another whose file failed once (a deadlock) and then ran statement by statement", () => {
    it("is applied and recorded when nothing else committed, with no second session to ask", async () => {
        const migrating = await connect();
        const application = await connect();
        const pid = (await migrating.query<{ pid: number }>("select pg_backend_pid() as pid")).rows[0].pid;
        // The application holds lock 2, without an xid, and asks for lock 1 once the migration, holding 1, waits for 2.
        await application.query("begin; select pg_advisory_xact_lock(2)");
        const deadlock = (async () => {
            await until("the migration to wait for lock 2", async () => {
                const { rows } = await application.query<{ waiting: boolean }>(
                    "select exists (select from pg_locks where pid = $1 and locktype = 'advisory' and not granted) as waiting",
                    [pid],
                );
                return rows[0].waiting ? true : undefined;
            });
            await application.query("select pg_advisory_xact_lock(1)");
            await application.query("commit");
        })();
        const error = await applyMigrations(
            migrating,
            [
                migration("0001_attack10_base.sql", "create table public.attack10_base (id int primary key);\n"),
                migration(
                    "0002_attack10_next.sql",
                    "select pg_advisory_xact_lock(1);\nselect pg_advisory_xact_lock(2);\ncreate table public.attack10_next (id int);\n",
                ),
            ],
            // A lock_timeout longer than the deadlock_timeout: the server breaks the deadlock before the engine gives up the wait.
            { variant: "jsonb", locks: { timeoutMs: 30_000 }, connect: () => Promise.reject(new Error("sorry, too many clients already")) },
        ).then(
            () => undefined,
            (failure: unknown) => failure as Error,
        );
        await deadlock;

        expect(error).toBeUndefined();
        expect((await readLedger(application)).map((row) => row.name)).toEqual(["0001_attack10_base.sql", "0002_attack10_next.sql"]);
        expect((await readRecords(application)).map((record) => record.identity)).toContain("table public.attack10_next");
    });
});
