// PgBouncer's stop signal (components/pooler.ts: SIGINT, also the docker container's stopSignal), on Debian's pgbouncer and the rendered config:
// a safe shutdown that lets the transaction in flight commit before PgBouncer exits, where SIGTERM (an
// immediate shutdown before PgBouncer 1.23) cuts it off.
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../engine/config/config";
import { PGBOUNCER_STOP_GRACE_SECONDS, PGBOUNCER_STOP_SIGNAL } from "../../components/pooler";
import { freshDatabase, type TestDatabase } from "../support/database";
import { findPgBouncer, startPgBouncer, type RunningPgBouncer } from "../support/pgbouncer";

const binary = findPgBouncer();
if (!binary) {
    console.warn(
        "[pgbouncer-stop.test] SKIPPED: pgbouncer is not on PATH nor in /usr/sbin; install it with `apt-get install -y pgbouncer`.",
    );
}

describe.skipIf(!binary)("stopping PgBouncer with the stack's stop signal", () => {
    let db: TestDatabase;
    let pgbouncer: RunningPgBouncer;

    beforeAll(async () => {
        db = await freshDatabase("pgbouncer_stop");
        const client = await db.connect();
        await client.query("create table orders (id int primary key)");
        pgbouncer = await startPgBouncer({
            config: { ...parseConfig({}), database: db.name },
            server: { host: db.server.host, port: db.server.port },
            users: [{ name: db.server.user, password: db.server.password }],
        });
    });

    afterAll(async () => {
        await pgbouncer?.stop();
        await db?.drop();
    });

    it("lets the open transaction commit, then exits cleanly, well within the grace period", async () => {
        const pooled = new Client({ ...db.config, host: pgbouncer.host, port: pgbouncer.port });
        pooled.on("error", () => undefined);
        await pooled.connect();
        await pooled.query("begin");
        await pooled.query("insert into orders values (1)");
        const started = Date.now();

        const exited = pgbouncer.stopWith(PGBOUNCER_STOP_SIGNAL);
        await pooled.query("insert into orders values (2)");
        await pooled.query("commit");
        await pooled.end();

        expect(await exited).toBe(0);
        expect(Date.now() - started).toBeLessThan(PGBOUNCER_STOP_GRACE_SECONDS * 1000);
        const direct = await db.connect();
        expect((await direct.query("select id from orders order by id")).rows).toEqual([{ id: 1 }, { id: 2 }]);
    });
});
