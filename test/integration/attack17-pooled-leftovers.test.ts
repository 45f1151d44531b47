// attack17: what one client of the stack's PgBouncer leaves in its server session, and what the next client
// that gets the same server connection (a pool of one) can do with it. The app role, the rendered config,
// Debian's PgBouncer; in transaction mode and in session mode (the modes the config allows with rls on).
// Row level security ignores every claim left at session level; what it cannot stop is rows already read under
// the first client's binding into a cursor WITH HOLD or a temp table: only the rendered reset (discard all's steps,
// server_reset_query_always) keeps those from the next client. Without it the transaction-mode case fails.
import { randomUUID } from "node:crypto";
import { Client, type ClientConfig } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig, type PoolMode } from "../../engine/config/config";
import { findPgBouncer, startPgBouncer, type RunningPgBouncer } from "../support/pgbouncer";
import { grantStackPrivileges, schemaDatabase, type SchemaDatabase } from "../support/schema-db";
import { until } from "../support/poll";

const binary = findPgBouncer();
if (!binary) {
    it.skip("pooled leftovers: pgbouncer is not installed (apt-get install pgbouncer)", () => undefined);
}

const PASSWORD = "app-password-0123456789";

describe.skipIf(!binary)("a client's session-level leftovers behind the stack's PgBouncer", () => {
    let schema: SchemaDatabase;
    const users = { a: randomUUID(), b: randomUUID() };
    const bouncers = new Map<PoolMode, RunningPgBouncer>();

    beforeAll(async () => {
        schema = await schemaDatabase("attack17_leftovers");
        const { client, options } = schema;
        await client.query(`alter role "${options.appRole}" login password '${PASSWORD}'`);
        await grantStackPrivileges(client, options);
        await client.query("insert into users (id, email) values ($1, 'a@example.com'), ($2, 'b@example.com')", [users.a, users.b]);
        await client.query("insert into sessions (session_id, user_id, agent_name) values ('session-a', $1, 'planner')", [users.a]);
        for (const mode of ["transaction", "session"] as const) {
            // One server connection: the next client gets the server the last one used.
            const config = parseConfig({
                database: schema.db.name,
                pooling: JSON.stringify({ mode, defaultPoolSize: 1, reservePoolSize: 0 }),
                client: JSON.stringify({ poolSize: 1, maxOverflow: 0 }),
            });
            bouncers.set(
                mode,
                await startPgBouncer({ config, server: schema.db.server, users: [{ name: options.appRole, password: PASSWORD }] }),
            );
        }
    });

    afterAll(async () => {
        await Promise.all([...bouncers.values()].map((bouncer) => bouncer.stop()));
        await schema?.drop();
    });

    const settings = (mode: PoolMode): ClientConfig => ({
        host: bouncers.get(mode)!.host,
        port: bouncers.get(mode)!.port,
        database: schema.db.name,
        user: schema.options.appRole,
        password: PASSWORD,
    });

    async function open(mode: PoolMode): Promise<Client> {
        const client = new Client(settings(mode));
        client.on("error", () => undefined);
        await client.connect();
        return client;
    }

    /** What the next client sees on the server connection the careless one used. */
    async function nextClient(mode: PoolMode, leftPid: number) {
        const next = await open(mode);
        try {
            const { rows } = await next.query(
                `select pg_backend_pid() as pid, current_user as "user", current_setting('row_security') as row_security,
                        coalesce(current_setting('request.jwt.claim.sub', true), '') as sub,
                        coalesce(current_setting('memory_stack.bound_user', true), '') as bound,
                        memory_stack.request_user_id() as uid,
                        (select count(*)::int from sessions) as sessions,
                        (select count(*)::int from pg_cursors) as cursors,
                        (select count(*)::int from pg_prepared_statements) as prepared,
                        (select count(*)::int from pg_class where relpersistence = 't') as temp_tables`,
            );
            const written = await next
                .query("insert into sessions (session_id, user_id, agent_name) values ('written-as-a', $1, 'x')", [users.a])
                .then(
                    () => "inserted",
                    (error: { code?: string }) => error.code,
                );
            return { ...rows[0], samePid: rows[0].pid === leftPid, written };
        } finally {
            await next.end();
        }
    }

    it.each(["transaction", "session"] as const)(
        "%s mode: claims, a forged binding, cursors, prepared statements (SQL and protocol level), temp tables and row_security set at session level reach no later client",
        async (mode) => {
            const careless = await open(mode);
            const { rows } = await careless.query("select pg_backend_pid() as pid");
            await careless.query(`set request.jwt.claim.sub = '${users.a}'`);
            await careless.query(`select set_config('request.jwt.claims', '{"sub": "${users.a}"}', false)`);
            await careless.query(
                `select set_config('memory_stack.bound_user', pg_backend_pid() || ' ' || extract(epoch from now()) || ' ' || '${users.a}', false)`,
            );
            await careless.query("begin");
            await careless.query("select memory_stack.bind_user($1)", [users.a]);
            await careless.query("declare kept cursor with hold for select * from sessions");
            await careless.query("create temp table copied as select * from sessions");
            await careless.query({ name: "protocol_level", text: "select * from sessions" }); // a driver's statement cache
            await careless.query("commit");
            await careless.query("prepare again as select * from sessions");
            await careless.query("set row_security = off");
            if (mode === "session") {
                await careless.end(); // session mode hands the server on only when its client leaves
            }
            const seen = await nextClient(mode, rows[0].pid);
            if (mode === "transaction") {
                await careless.end();
            }
            expect(seen).toMatchObject({
                samePid: true,
                user: schema.options.appRole,
                row_security: "on",
                sub: "",
                bound: "",
                uid: null,
                sessions: 0,
                cursors: 0,
                prepared: 0,
                temp_tables: 0,
                written: "42501",
            });
        },
    );

    it("refuses set session authorization and set role out of the app role, whatever the pooler", async () => {
        const client = await open("transaction");
        try {
            for (const statement of [`set session authorization "${schema.db.server.user}"`, `set role "${schema.options.adminRole}"`]) {
                await expect(client.query(statement)).rejects.toMatchObject({ code: "42501" });
            }
        } finally {
            await client.end();
        }
    });

    it("a client that dies mid-transaction with a user bound leaves the next client nothing", async () => {
        const dying = await open("transaction");
        await dying.query("begin");
        await dying.query("select memory_stack.bind_user($1)", [users.a]);
        const { rows } = await dying.query("select pg_backend_pid() as pid, (select count(*)::int from sessions) as sessions");
        expect(rows[0].sessions).toBe(1);
        (dying as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
        // PgBouncer closes a server connection whose client left mid-transaction: the next client gets a new one.
        await until("the dead client's server connection to close", async () => {
            const owner = schema.client;
            const alive = await owner.query("select count(*)::int as n from pg_stat_activity where pid = $1", [rows[0].pid]);
            return alive.rows[0].n === 0 ? true : undefined;
        });
        const seen = await nextClient("transaction", rows[0].pid);
        expect(seen).toMatchObject({ samePid: false, uid: null, sessions: 0, written: "42501" });
    });
});
