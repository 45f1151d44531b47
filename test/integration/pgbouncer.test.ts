// Debian's pgbouncer on the config the package renders, in front of a real PostgreSQL 15 started
// with max_connections=20 (the seed's), holding the real memory schema with row level security.
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { Client, type ClientConfig } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig, type RawConfig } from "../../engine/config/config";
import { scramParameters } from "../../engine/render/pgbouncer";
import { scramVerifier } from "../support/scram";
import { listeningCheck } from "../../components/pooler";
import { applyMigrations, migrationsFor } from "../support/apply-sql";
import { withClient } from "../support/database";
import { freePort, startEmbeddedPostgres, type RunningServer } from "../support/embedded-server";
import { findPgBouncer, startPgBouncer, type RunningPgBouncer } from "../support/pgbouncer";

const binary = findPgBouncer();
if (!binary) {
    console.warn("[pgbouncer.test] SKIPPED: pgbouncer is not on PATH nor in /usr/sbin; install it with `apt-get install -y pgbouncer`.");
}

const DATABASE = "ybryx";
const APP = { name: "memory_app", password: "app-password-0123456789" };
const ADMIN = { name: "memory_admin", password: "admin-password-0123456789" };
const CLIENTS = 200;
// The default config: its client limit holds the 200 clients the pooling figures claim.
const RAW: RawConfig = {};

interface Attempt {
    ok: boolean;
    code?: string;
    error?: string;
}

describe.skipIf(!binary)("PgBouncer on the rendered config, in front of PostgreSQL 15 with max_connections=20", () => {
    const config = parseConfig(RAW);
    let server: RunningServer;
    const users = { a: randomUUID(), b: randomUUID() };

    const direct = (overrides: Partial<ClientConfig> = {}): ClientConfig => ({
        host: server.host,
        port: server.port,
        user: server.user,
        password: server.password,
        database: DATABASE,
        ...overrides,
    });

    beforeAll(async () => {
        server = await startEmbeddedPostgres({ flags: ["-c", `max_connections=${config.maxConnections}`] });
        await withClient(direct({ database: "postgres" }), async (admin) => {
            await admin.query(`create database ${DATABASE}`);
            await admin.query(`create role ${APP.name} login password '${APP.password}'`);
            // The admin role's stored verifier is one we derived, so its auth file line needs no password.
            await admin.query(`create role ${ADMIN.name} login password '${scramVerifier(ADMIN.password)}'`);
        });
        await withClient(direct(), async (owner) => {
            await applyMigrations(owner, migrationsFor({ appRole: APP.name, adminRole: ADMIN.name }));
            // Grants are the access component's job; these are the ones the tests need.
            await owner.query(`grant usage on schema public to ${APP.name}, ${ADMIN.name}`);
            await owner.query(`grant select, insert, update, delete on all tables in schema public to ${APP.name}, ${ADMIN.name}`);
            await owner.query("insert into users (id, email) values ($1, 'a@example.com'), ($2, 'b@example.com')", [users.a, users.b]);
            await owner.query(
                "insert into sessions (session_id, user_id, agent_name) values ('session-a', $1, 'planner'), ('session-b', $2, 'planner')",
                [users.a, users.b],
            );
        });
    });

    afterAll(async () => {
        await server?.stop();
    });

    it("refuses direct clients beyond max_connections - superuser_reserved_connections with SQLSTATE 53300", async () => {
        // One after another: a refused backend holds a slot while it reports the refusal, so concurrent
        // attempts would make the count depend on timing. Every success stays connected.
        const attempts = await holdAll(CLIENTS, () => direct({ user: APP.name, password: APP.password }), { sequential: true });
        const refused = attempts.filter((a) => !a.ok);
        const available = config.maxConnections - config.superuserReservedConnections;
        expect(attempts.filter((a) => a.ok)).toHaveLength(available);
        expect(refused).toHaveLength(CLIENTS - available);
        expect(new Set(refused.map((a) => a.code))).toEqual(new Set(["53300"]));
    });

    describe("through the pooler (transaction mode)", () => {
        let bouncer: RunningPgBouncer;
        const pooled = (user: { name: string; password: string }, overrides: Partial<ClientConfig> = {}): ClientConfig => ({
            host: bouncer.host,
            port: bouncer.port,
            user: user.name,
            password: user.password,
            database: DATABASE,
            ...overrides,
        });

        beforeAll(async () => {
            bouncer = await startPgBouncer({
                config,
                server: { host: server.host, port: server.port },
                // The admin role too, whatever the installed version: these tests prove the rendered files, not pooledRoles.
                users: [
                    { name: APP.name, password: APP.password },
                    { name: ADMIN.name, scramVerifier: await storedVerifier(ADMIN.name) },
                ],
                statsUsers: [ADMIN.name],
            });
        });

        afterAll(async () => {
            await bouncer?.stop();
        });

        it("runs the rendered config on the installed PgBouncer, without settings it does not know", () => {
            expect(bouncer.ini).toContain("pool_mode = transaction");
            expect(bouncer.ini).toContain("max_db_connections = 7");
            expect(bouncer.ini).toContain("max_client_conn = 250");
            expect(bouncer.ini).toContain("server_reset_query_always = 1");
            expect(bouncer.ini).not.toContain("max_prepared_statements");
        });

        it("serves 200 concurrent clients, each in its own transaction, on at most 7 server connections", async () => {
            const ids = Array.from({ length: CLIENTS }, () => randomUUID());
            let serverConnections = -1;
            const attempts = await holdAll(CLIENTS, () => pooled(APP), {
                async work(client, i) {
                    await client.query("begin");
                    await client.query("select memory_stack.bind_user($1)", [ids[i]]);
                    const { rows } = await client.query("select auth.uid()::text as uid");
                    await client.query("commit");
                    if (rows[0].uid !== ids[i]) {
                        throw new Error(`client ${i} saw user ${rows[0].uid}`);
                    }
                },
                async whileHeld() {
                    await withClient(direct(), async (owner) => {
                        const { rows } = await owner.query("select count(*)::int as n from pg_stat_activity where usename = $1", [
                            APP.name,
                        ]);
                        serverConnections = rows[0].n;
                    });
                },
            });
            expect(attempts.filter((a) => !a.ok).map((a) => a.error)).toEqual([]);
            expect(attempts).toHaveLength(CLIENTS);
            expect(serverConnections).toBeGreaterThan(0);
            expect(serverConnections).toBeLessThanOrEqual(config.pooling.defaultPoolSize + config.pooling.reservePoolSize);
        });

        it("isolates users with row level security when each transaction binds its user", async () => {
            await withClient(pooled(APP), async (client) => {
                const seenBy = async (userId: string | undefined) => {
                    await client.query("begin");
                    if (userId) {
                        await client.query("select memory_stack.bind_user($1)", [userId]);
                    }
                    const { rows } = await client.query("select session_id from sessions order by session_id");
                    await client.query("commit");
                    return rows.map((r) => r.session_id);
                };
                expect(await seenBy(users.a)).toEqual(["session-a"]);
                expect(await seenBy(users.b)).toEqual(["session-b"]);
                expect(await seenBy(undefined)).toEqual([]);

                await client.query("begin");
                await client.query("select memory_stack.bind_user($1)", [users.a]);
                const forged = await client
                    .query("insert into sessions (session_id, user_id, agent_name) values ('forged', $1, 'x')", [users.b])
                    .then(
                        () => "inserted",
                        (error: { code?: string }) => error.code,
                    );
                await client.query("rollback");
                expect(forged).toBe("42501");
            });
        });

        it("runs the schema's functions through the pooler: get_active_session sees only the caller's rows", async () => {
            await withClient(pooled(APP), async (client) => {
                await client.query("begin");
                await client.query("select memory_stack.bind_user($1)", [users.a]);
                const own = await client.query("select s.session_id from sessions s where s.id = get_active_session($1, 'planner')", [
                    users.a,
                ]);
                const others = await client.query("select get_active_session($1, 'planner') as id", [users.b]);
                await client.query("commit");
                expect(own.rows.map((r) => r.session_id)).toEqual(["session-a"]);
                expect(others.rows[0].id).toBeNull();
            });
        });

        it("logs in a role whose auth file line is the server's SCRAM verifier, not a password", async () => {
            await withClient(pooled(ADMIN), async (client) => {
                const { rows } = await client.query("select current_user as name, (select count(*)::int from sessions) as sessions");
                expect(rows[0]).toEqual({ name: ADMIN.name, sessions: 2 });
            });
        });

        it("refuses the owner, which is not in its auth file, on the database and on the console", async () => {
            for (const database of [DATABASE, "pgbouncer"]) {
                const refused = await withClient(
                    pooled({ name: server.user, password: server.password }, { database }),
                    async () => "connected",
                ).catch((error: Error) => error.message);
                expect(refused).toMatch(/SASL authentication failed|password authentication failed|no such user/);
            }
        });

        it("gives the stats user read-only SHOW commands on the console", async () => {
            await withClient(pooled(ADMIN, { database: "pgbouncer" }), async (statsConsole) => {
                const pools = await statsConsole.query("show pools");
                expect(pools.rows.map((r) => `${r.database}/${r.user}`)).toContain(`${DATABASE}/${APP.name}`);
                await expect(statsConsole.query("pause")).rejects.toThrow(/admin/i);
            });
        });

        it("passes the container healthcheck while listening, and fails it on a closed port", async () => {
            expect(await shell(listeningCheck(bouncer.port))).toBe(0);
            expect(await shell(listeningCheck(await freePort()))).not.toBe(0);
        });
    });

    it.each(["session", "transaction", "statement"])("starts on the rendered %s mode config and answers a query", async (mode) => {
        // Session mode needs the client pool to fit the server pool (engine/config/rules.ts says why).
        // Statement mode refuses the transaction bind_user needs: it is for a stack without row level security.
        const modeConfig = parseConfig({
            pooling: JSON.stringify({ mode }),
            client: JSON.stringify({ maxOverflow: 2 }),
            rls: String(mode !== "statement"),
        });
        const bouncer = await startPgBouncer({ config: modeConfig, server, users: [{ name: APP.name, password: APP.password }] });
        try {
            expect(bouncer.ini).toContain(`pool_mode = ${mode}`);
            await withClient(
                { host: bouncer.host, port: bouncer.port, user: APP.name, password: APP.password, database: DATABASE },
                async (client) => {
                    expect((await client.query("select 1 as one")).rows).toEqual([{ one: 1 }]);
                },
            );
        } finally {
            await bouncer.stop();
        }
    });

    it("derives the same SCRAM verifier PostgreSQL stored, given its salt and iterations", async () => {
        const stored = await storedVerifier(APP.name);
        expect(scramVerifier(APP.password, scramParameters(stored))).toBe(stored);
    });

    async function storedVerifier(role: string): Promise<string> {
        return withClient(
            direct({ database: "postgres" }),
            async (admin) => (await admin.query("select rolpassword from pg_authid where rolname = $1", [role])).rows[0].rolpassword,
        );
    }
});

interface HoldOptions {
    /** Runs on each connected client. */
    work?: (client: Client, index: number) => Promise<void>;
    /** Runs once every attempt settled, while the successful connections are still open. */
    whileHeld?: () => Promise<void>;
    /** Attempt one connection after another instead of all at once. */
    sequential?: boolean;
}

/**
 * Opens `count` connections, runs `work` on each that connected, and keeps every connection open until all
 * attempts settled and `whileHeld` ran, so the counts are of simultaneous connections.
 */
async function holdAll(count: number, config: () => ClientConfig, options: HoldOptions = {}): Promise<Attempt[]> {
    const clients: Client[] = [];
    const attempt = async (i: number): Promise<Attempt> => {
        const client = new Client({ ...config(), connectionTimeoutMillis: 30_000 });
        client.on("error", () => undefined);
        clients.push(client);
        try {
            await client.connect();
            await options.work?.(client, i);
            return { ok: true };
        } catch (error) {
            const { code, message } = error as { code?: string; message?: string };
            return { ok: false, code, error: `${code ?? ""} ${message ?? error}` };
        }
    };
    try {
        const attempts: Attempt[] = [];
        if (options.sequential) {
            for (let i = 0; i < count; i++) {
                attempts.push(await attempt(i));
            }
        } else {
            attempts.push(...(await Promise.all(Array.from({ length: count }, (_, i) => attempt(i)))));
        }
        await options.whileHeld?.();
        return attempts;
    } finally {
        await Promise.all(clients.map((client) => client.end().catch(() => undefined)));
    }
}

function shell(command: string): Promise<number> {
    return new Promise((resolve) => execFile("sh", ["-c", command], (error) => resolve(error ? Number(error.code ?? 1) : 0)));
}
