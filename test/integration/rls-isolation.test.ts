// Row level security that cannot leak, on a real PostgreSQL 15 (and Debian's PgBouncer on the rendered
// config), as the app role logs in: an id counts only for the transaction that bound it; no client of
// the app role can make a plain or session-level claim count, directly, through an application's pool
// or through the stack's PgBouncer; behind that PgBouncer nothing a client leaves in its session
// reaches the next client; no row can hang off another user's session or execution; the app role
// cannot run the maintenance functions; and no connection string the stack exports for the app can
// become the owner.
import { Client, Pool, type ClientConfig, type PoolClient } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loginRoleUrl } from "../../components/access";
import { parseConfig } from "../../engine/config/config";
import { loginFor } from "../../engine/config/rules";
import { connectionUrl } from "../../engine/db/url";
import { MEMORY_TABLES } from "../../engine/migrate/manifest";
import { MAINTENANCE_FUNCTIONS } from "../../engine/render/privileges";
import { applyMigrations, migrationsFor } from "../support/apply-sql";
import { dropRoles } from "../support/database";
import { findPgBouncer, startPgBouncer, startSharedPgBouncer, type RunningPgBouncer } from "../support/pgbouncer";
import { grantStackPrivileges, schemaDatabase, type SchemaDatabase } from "../support/schema-db";

const PASSWORD = "rls-isolation-password-0123";
const A = "00000000-0000-4000-8000-00000000000a";
const B = "00000000-0000-4000-8000-00000000000b";
const NOWHERE = "00000000-0000-4000-8000-0000000000ff";
const pgbouncer = findPgBouncer();
if (!pgbouncer) {
    console.warn("[rls-isolation.test] the PgBouncer cases are SKIPPED: pgbouncer is not installed; `apt-get install -y pgbouncer`.");
}

let schema: SchemaDatabase;
let owner: Client;
let app: string;
let admin: string;
let login: string;
let side: string;
let parents: { sessionA: string; sessionB: string; executionA: string; executionB: string };
const clients: Client[] = [];
// Debian's PgBouncer on the rendered config with one server connection, so every client shares it.
let bouncer: RunningPgBouncer | undefined;

beforeAll(async () => {
    schema = await schemaDatabase("rls_isolation");
    owner = schema.client;
    ({ appRole: app, adminRole: admin } = schema.options);
    login = loginFor(app);
    await owner.query(`alter role "${app}" login password '${PASSWORD}'; alter role "${admin}" login password '${PASSWORD}'`);
    // The authenticator pattern, as Access and Grants make it where the roles exist already.
    await owner.query(`create role "${login}" login noinherit password '${PASSWORD}'; grant "${app}" to "${login}"`);
    // A harmless role the app role may SET ROLE to, to see whether a role outlives its client.
    side = `${schema.db.name}_side`;
    await owner.query(`create role "${side}"; grant "${side}" to "${app}"`);
    await grantStackPrivileges(owner, schema.options);
    await owner.query("insert into users (id) values ($1), ($2)", [A, B]);
    const sessions = await owner.query<{ id: string }>(
        "insert into sessions (session_id, user_id, agent_name) values ('a-1', $1, 'x'), ('b-1', $2, 'x') returning id",
        [A, B],
    );
    const executions = await owner.query<{ id: string }>(
        "insert into agent_executions (session_id, user_id, agent_name) values ($1, $2, 'x'), ($3, $4, 'x') returning id",
        [sessions.rows[0].id, A, sessions.rows[1].id, B],
    );
    parents = {
        sessionA: sessions.rows[0].id,
        sessionB: sessions.rows[1].id,
        executionA: executions.rows[0].id,
        executionB: executions.rows[1].id,
    };
    if (pgbouncer) {
        bouncer = await startSharedPgBouncer(schema.db, [{ name: app, password: PASSWORD }]);
    }
});

afterAll(async () => {
    await Promise.all(clients.map((client) => client.end().catch(() => undefined)));
    await bouncer?.stop();
    await schema?.drop();
    if (login) await dropRoles(schema.db.server, [login, side]);
});

async function connect(config: ClientConfig | string): Promise<Client> {
    const client = new Client(typeof config === "string" ? { connectionString: config } : config);
    client.on("error", () => undefined);
    await client.connect();
    clients.push(client);
    return client;
}

const direct = (user: string): ClientConfig => ({ ...schema.db.config, user, password: PASSWORD });
const pooled = (): ClientConfig => ({ ...direct(app), host: bouncer!.host, port: bouncer!.port });

/** The SQLSTATE a statement outside any transaction fails with, or "ok". */
async function status(client: Client, sql: string): Promise<string> {
    return client.query(sql).then(
        () => "ok",
        (error: { code?: string }) => error.code ?? String(error),
    );
}

/** The SQLSTATE `sql` fails with, or "ok". */
async function outcome(client: Client, sql: string, params: unknown[] = []): Promise<string> {
    await client.query("savepoint attempt");
    try {
        await client.query(sql, params);
        await client.query("release savepoint attempt");
        return "ok";
    } catch (error) {
        await client.query("rollback to savepoint attempt");
        return (error as { code?: string }).code ?? String(error);
    }
}

/** The user ids of the sessions the client sees in a transaction started with `start`, then rolled back. */
async function seen(client: Client, start: string[] = [], params: unknown[][] = []): Promise<string[]> {
    await client.query("begin");
    try {
        for (const [i, sql] of start.entries()) await client.query(sql, params[i] ?? []);
        return (await client.query<{ user_id: string }>("select user_id::text from sessions order by 1")).rows.map((r) => r.user_id);
    } finally {
        await client.query("rollback");
    }
}

describe("an id bound to the transaction, on the app role's own connection", () => {
    it("is honoured for that transaction only: the next one sees nothing", async () => {
        const client = await connect(direct(app));
        expect(await seen(client, ["select memory_stack.bind_user($1)"], [[A]])).toEqual([A]);
        expect(await seen(client)).toEqual([]);
        expect((await client.query("select memory_stack.request_user_id() as id, auth.uid() as uid")).rows).toEqual([
            { id: null, uid: null },
        ]);
    });

    it("is the only way in here: a plain transaction-local claim counts for nothing, and its write is refused", async () => {
        const client = await connect(direct(app));
        const claim = "select set_config('request.jwt.claim.sub', $1, true)";
        expect(await seen(client, [claim], [[A]])).toEqual([]);
        await client.query("begin");
        await client.query(claim, [A]);
        expect(await outcome(client, "insert into sessions (session_id, user_id, agent_name) values ('plain', $1, 'x')", [A])).toBe(
            "42501",
        );
        await client.query("rollback");
    });

    it.each([
        ["set_config(..., false)", `select set_config('request.jwt.claim.sub', '${A}', false)`],
        ["SET of the claim", `set request.jwt.claim.sub = '${A}'`],
        ["SET of the claims json", `set request.jwt.claims = '{"sub": "${A}"}'`],
        [
            "a session-level binding copied from a live transaction",
            `select set_config('memory_stack.bound_user', pg_backend_pid() || ' ' || extract(epoch from now()) || ' ${A}', false)`,
        ],
    ])("is never one set at session level, by %s, not even for the same connection's next transaction", async (_, sql) => {
        const client = await connect(direct(app));
        await client.query(sql);
        expect(await seen(client)).toEqual([]);
        expect((await client.query("select memory_stack.request_user_id() as id")).rows[0].id).toBeNull();
    });

    it("fails no later transaction over a malformed id left behind at session level", async () => {
        const client = await connect(direct(app));
        await client.query("select set_config('memory_stack.bound_user', 'not a binding', false)");
        await client.query("set request.jwt.claim.sub = 'not-a-uuid'");
        expect(await seen(client)).toEqual([]);
        expect(await seen(client, ["select memory_stack.bind_user($1)"], [[A]])).toEqual([A]);
    });

    it("refuses to bind no user", async () => {
        const client = await connect(direct(app));
        await expect(client.query("select memory_stack.bind_user(null)")).rejects.toMatchObject({ code: "22023" });
    });

    it("counts plain claims only for a login granted trust_plain_claims, as PostgREST's authenticator is (plainClaimLogins)", async () => {
        const router = await connect(direct(login));
        const asPostgrest = ["set local role " + `"${app}"`, "select set_config('request.jwt.claims', $1, true)"];
        const claims = [[], [JSON.stringify({ sub: B, role: "authenticated" })]];
        expect(await seen(router, asPostgrest, claims)).toEqual([]);
        await owner.query(`grant execute on function memory_stack.trust_plain_claims() to "${login}"`);
        try {
            expect(await seen(router, asPostgrest, claims)).toEqual([B]);
            expect(await seen(await connect(direct(app)), ["select set_config('request.jwt.claims', $1, true)"], [claims[1]])).toEqual([]);
        } finally {
            await owner.query(`revoke execute on function memory_stack.trust_plain_claims() from "${login}"`);
        }
    });
});

describe("no client of the app role can make its own plain or session-level claims count", () => {
    // Each path hands out connections one after another; `next` is the same server connection again.
    interface Path {
        open(config: ClientConfig): Promise<{ client: Client; release(): void }>;
        config(): ClientConfig;
        close(): Promise<void>;
    }
    const paths: [string, () => Path | undefined][] = [
        [
            "directly: the same connection's next transactions",
            () => {
                let held: Client | undefined;
                return {
                    config: () => direct(app),
                    async open(config) {
                        held ??= await connect(config);
                        return { client: held, release: () => undefined };
                    },
                    close: async () => undefined,
                };
            },
        ],
        [
            "through an application's pool of one connection, handed back unreset",
            () => {
                let pool: Pool | undefined;
                let out: PoolClient | undefined;
                return {
                    config: () => direct(app),
                    async open(config) {
                        if (!pool) {
                            pool = new Pool({ ...config, max: 1 });
                            pool.on("error", () => undefined);
                        }
                        const client = (out = await pool.connect());
                        const release = () => {
                            out = undefined;
                            client.release();
                        };
                        return { client: client as unknown as Client, release };
                    },
                    async close() {
                        out?.release(true); // a failed expectation left it checked out
                        await pool?.end();
                    },
                };
            },
        ],
        [
            "through the stack's PgBouncer, one server connection for every client",
            () =>
                bouncer && {
                    config: pooled,
                    async open(config) {
                        const client = await connect(config);
                        return { client, release: () => void client.end().catch(() => undefined) };
                    },
                    close: async () => undefined,
                },
        ],
    ];

    it.each(paths)("%s", async (name, make) => {
        const path = make();
        if (!path) return console.warn(`[rls-isolation.test] SKIPPED ${name}: pgbouncer is not installed`);
        try {
            // The old marker, at connect too (PgBouncer drops startup options; the others take them).
            const first = await path.open({ ...path.config(), options: `-c memory_stack.pooler_reset=on -c request.jwt.claim.sub=${B}` });
            const pid = (await first.client.query("select pg_backend_pid() as pid")).rows[0].pid;
            // Trust itself: only the owner can grant or replace the switch.
            expect(await status(first.client, `grant execute on function memory_stack.trust_plain_claims() to "${app}"`)).toBe("42501");
            expect(
                await status(
                    first.client,
                    "create or replace function memory_stack.trust_plain_claims() returns boolean language sql as 'select true'",
                ),
            ).toBe("42501");
            // Mark the session and leave ids at session level, by every spelling.
            await first.client.query("set memory_stack.pooler_reset = on");
            await first.client.query("select set_config('request.jwt.claim.sub', $1, false)", [B]);
            await first.client.query(`set request.jwt.claims = '{"sub": "${B}"}'`);
            // And all of it inside one transaction, which no pooler resets halfway.
            const marked = ["set local memory_stack.pooler_reset = on", "select set_config('request.jwt.claim.sub', $1, true)"];
            expect(await seen(first.client, marked, [[], [B]])).toEqual([]);
            expect(await seen(first.client)).toEqual([]);
            first.release();

            const next = await path.open(path.config());
            expect((await next.client.query("select pg_backend_pid() as pid")).rows[0].pid).toBe(pid);
            expect(await seen(next.client)).toEqual([]);
            expect(await seen(next.client, ["select set_config('request.jwt.claim.sub', $1, true)"], [[B]])).toEqual([]);
            await next.client.query("begin");
            await next.client.query("select set_config('request.jwt.claim.sub', $1, true)", [B]);
            expect(
                await outcome(next.client, "insert into memory_logs (user_id, agent_name, operation) values ($1, 'x', 'write')", [B]),
            ).toBe("42501");
            await next.client.query("rollback");
            // The path itself works: a bound id counts.
            expect(await seen(next.client, ["select memory_stack.bind_user($1)"], [[A]])).toEqual([A]);
            next.release();
        } finally {
            await path.close();
        }
    });
});

describe.skipIf(!pgbouncer)("behind the stack's PgBouncer, one server connection shared by every client", () => {
    it("resets whatever a client set for its session before the next client's transaction, on the same server connection", async () => {
        const [careless, next] = [await connect(pooled()), await connect(pooled())];
        await careless.query(`select set_config('request.jwt.claim.sub', '${A}', false)`);
        await careless.query(`set request.jwt.claims = '{"sub": "${A}"}'`);
        await careless.query("set search_path = pg_temp");
        const { pid } = (await careless.query<{ pid: number }>("select pg_backend_pid() as pid")).rows[0];

        const after = await next.query(
            "select pg_backend_pid() as pid, current_setting('request.jwt.claim.sub', true) as sub, current_setting('search_path') as path, " +
                "memory_stack.request_user_id() as id, (select count(*)::int from public.sessions) as rows",
        );
        expect(after.rows[0]).toEqual({ pid, sub: "", path: '"$user", public', id: null, rows: 0 });
        // Not even the client that set it keeps it: its next transaction may be on any server connection.
        expect((await careless.query("select count(*)::int as rows from public.sessions")).rows[0].rows).toBe(0);
    });

    it("leaves the next client nothing of the last one's session: temp table, lock, prepared statements, listener, cursor, role", async () => {
        const [careless, next] = [await connect(pooled()), await connect(pooled())];
        await careless.query("begin");
        await careless.query("select memory_stack.bind_user($1)", [A]);
        await careless.query("create temp table my_cache as select session_id, user_id from sessions");
        await careless.query("declare held cursor with hold for select session_id, user_id from sessions");
        await careless.query("commit");
        await careless.query("select pg_advisory_lock(42)");
        await careless.query("prepare p as select session_id from sessions");
        await careless.query({ name: "careless_protocol_statement", text: "select user_id from sessions" });
        await careless.query("listen memory_news");
        await careless.query(`set role "${side}"`);
        expect(await status(careless, `set session authorization "${schema.db.server.user}"`)).toBe("42501");
        const { pid } = (await careless.query<{ pid: number }>("select pg_backend_pid() as pid")).rows[0];

        const left = await next.query(
            `select pg_backend_pid() as pid, current_user as "user", session_user as "session",
                to_regclass('pg_temp.my_cache') is not null as temp_table,
                (select count(*)::int from pg_locks where locktype = 'advisory' and pid = pg_backend_pid()) as advisory_locks,
                (select count(*)::int from pg_prepared_statements) as prepared,
                (select count(*)::int from pg_listening_channels()) as listening,
                (select count(*)::int from pg_cursors) as cursors`,
        );
        expect(left.rows[0]).toEqual({
            pid,
            user: app,
            session: app,
            temp_table: false,
            advisory_locks: 0,
            prepared: 0,
            listening: 0,
            cursors: 0,
        });
        expect(await status(next, "select * from pg_temp.my_cache")).toBe("42P01");
        expect(await status(next, "fetch all from held")).toBe("34000");
        expect(await status(next, "execute p")).toBe("26000");
    });
});

describe("a row the app role writes", () => {
    // table → [column, another user's parent, own parent]
    const references: [string, string, () => string, () => string][] = [
        ["agent_executions", "session_id", () => parents.sessionB, () => parents.sessionA],
        ["memory_logs", "session_id", () => parents.sessionB, () => parents.sessionA],
        ["goal_assessments", "session_id", () => parents.sessionB, () => parents.sessionA],
        ["cognitive_metrics", "session_id", () => parents.sessionB, () => parents.sessionA],
        ["cognitive_metrics", "execution_id", () => parents.executionB, () => parents.executionA],
    ];
    // The columns each table requires besides user_id and agent_name.
    const required: Record<string, [string, string]> = {
        agent_executions: ["", ""],
        memory_logs: [", operation", ", 'write'"],
        goal_assessments: [", goal_text", ", 'a goal'"],
        cognitive_metrics: [", metric_name", ", 'a metric'"],
    };
    const insert = (table: string, column: string) =>
        `insert into ${table} (user_id, agent_name, ${column}${required[table][0]}) values ($1, 'x', $2${required[table][1]})`;

    it.each(references)(
        "in %s cannot point its %s at another user's parent, nor at one that does not exist: the same 42501 for both",
        async (table, column, theirs, own) => {
            const client = await connect(direct(app));
            await client.query("begin");
            try {
                await client.query("select memory_stack.bind_user($1)", [A]);
                expect(await outcome(client, insert(table, column), [A, theirs()])).toBe("42501");
                expect(await outcome(client, insert(table, column), [A, NOWHERE])).toBe("42501");
                expect(await outcome(client, insert(table, column), [A, own()])).toBe("ok");
                expect(await outcome(client, `update ${table} set ${column} = $1 where user_id = $2`, [theirs(), A])).toBe("42501");
            } finally {
                await client.query("rollback");
            }
        },
    );

    it("can reuse another user's session_id key: keys are unique per user, so a unique violation tells nothing", async () => {
        const client = await connect(direct(app));
        await client.query("begin");
        try {
            await client.query("select memory_stack.bind_user($1)", [A]);
            expect(await outcome(client, "insert into sessions (session_id, user_id, agent_name) values ('b-1', $1, 'x')", [A])).toBe("ok");
            expect(await outcome(client, "insert into sessions (session_id, user_id, agent_name) values ('a-1', $1, 'x')", [A])).toBe(
                "23505",
            );
        } finally {
            await client.query("rollback");
        }
    });
});

describe("the maintenance functions", () => {
    const calls: Record<string, string> = {
        close_stale_sessions: "select * from close_stale_sessions('1 hour')",
        purge_old_logs: "select * from purge_old_logs()",
        forget_user: `select * from forget_user('${B}')`,
    };

    it("are executable by no PUBLIC grant", async () => {
        const { rows } = await owner.query(
            `select p.proname from pg_proc p, aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
             where p.oid = any($1::regprocedure[]) and a.grantee = 0`,
            [["public.close_stale_sessions(interval)", "public.purge_old_logs(interval, interval)", "public.forget_user(uuid)"]],
        );
        expect(rows).toEqual([]);
    });

    it.each(MAINTENANCE_FUNCTIONS)("refuse the app role, even with a user bound: %s", async (name) => {
        const client = await connect(direct(app));
        await client.query("begin");
        try {
            await client.query("select memory_stack.bind_user($1)", [B]);
            expect(await outcome(client, calls[name])).toBe("42501");
        } finally {
            await client.query("rollback");
        }
    });

    it.each(MAINTENANCE_FUNCTIONS)("run for the admin role: %s", async (name) => {
        const client = await connect(direct(admin));
        await client.query("begin");
        try {
            expect(await outcome(client, calls[name])).toBe("ok");
        } finally {
            await client.query("rollback");
        }
    });
});

describe("every connection string the stack exports for the app", () => {
    const urls: [string, () => Promise<string | undefined>][] = [
        [
            "the app role's own login (createRoles true)",
            async () => connectionUrl({ ...schema.db.settings, user: app, password: PASSWORD }),
        ],
        [
            "its login that can only become the app role (createRoles false)",
            async () => loginRoleUrl({ ...schema.db.settings, user: login, password: PASSWORD }, app),
        ],
        [
            "the app role through PgBouncer",
            async () => {
                if (!pgbouncer) return undefined;
                const config = parseConfig({ database: schema.db.name });
                const bouncer = await startPgBouncer({ config, server: schema.db.server, users: [{ name: app, password: PASSWORD }] });
                stops.push(() => bouncer.stop());
                return connectionUrl({ ...schema.db.settings, host: bouncer.host, port: bouncer.port, user: app, password: PASSWORD });
            },
        ],
    ];
    const stops: (() => Promise<void>)[] = [];
    afterAll(async () => {
        await Promise.all(stops.map((stop) => stop()));
    });

    it.each(urls)("cannot become the owner or the admin role, and reset role leaves it seeing no other user's row: %s", async (_, url) => {
        const target = await url();
        if (target === undefined) return console.warn("[rls-isolation.test] SKIPPED the pooled URL: pgbouncer is not installed");
        const client = await connect(target);
        const ownerName = schema.db.server.user;
        expect((await client.query("select current_user as name")).rows[0].name).toBe(app);
        await client.query("begin");
        try {
            for (const escape of [`set role "${ownerName}"`, `set role "${admin}"`, `set session authorization "${ownerName}"`]) {
                expect(await outcome(client, escape), escape).toBe("42501");
            }
            await client.query("reset role");
            const now = await client.query<{ name: string; superuser: boolean; bypass: boolean }>(
                "select current_user as name, rolsuper as superuser, rolbypassrls as bypass from pg_roles where rolname = current_user",
            );
            expect(now.rows[0].name).not.toBe(ownerName);
            expect(now.rows[0]).toMatchObject({ superuser: false, bypass: false });
            const others = await outcome(client, "select 1 from public.sessions where user_id = $1 having count(*) > 0", [B]);
            if (others === "ok") {
                expect((await client.query("select count(*)::int as n from public.sessions where user_id = $1", [B])).rows[0].n).toBe(0);
            } else {
                expect(others).toBe("42501");
            }
        } finally {
            await client.query("rollback");
        }
    });
});

describe("a database whose default privileges give every role everything, as Supabase's do", () => {
    let supabase: SchemaDatabase;
    let anon: string;
    beforeAll(async () => {
        supabase = await schemaDatabase("rls_defaults", {}, false);
        const { appRole, adminRole } = supabase.options;
        anon = `${supabase.db.name}_anon`;
        await supabase.client.query(`create role "${appRole}"; create role "${adminRole}"; create role "${anon}"`);
        await supabase.client.query(
            `alter default privileges in schema public grant all on tables to "${appRole}", "${adminRole}", "${anon}";
             alter default privileges in schema public grant all on functions to "${appRole}", "${adminRole}", "${anon}";
             alter default privileges grant all on functions to "${appRole}", "${adminRole}", "${anon}"`,
        );
        await applyMigrations(supabase.client, migrationsFor(supabase.options));
    });
    afterAll(async () => {
        await supabase?.drop();
        if (anon) await dropRoles(supabase.db.server, [anon]);
    });

    it("leaves only the admin role able to run the maintenance functions", async () => {
        const { appRole, adminRole } = supabase.options;
        const { rows } = await supabase.client.query(
            `select r.role, f.fn from unnest($1::text[]) r(role), unnest($2::text[]) f(fn)
             where has_function_privilege(r.role, ('public.' || f.fn)::regproc, 'execute') order by 1, 2`,
            [[appRole, adminRole, anon], MAINTENANCE_FUNCTIONS],
        );
        expect(rows).toEqual([...MAINTENANCE_FUNCTIONS].sort().map((fn) => ({ role: adminRole, fn })));
    });

    it("hands the plain-claim switch to no role: only the owner holds it until it grants it to a plainClaimLogins login", async () => {
        const { appRole, adminRole } = supabase.options;
        const { rows } = await supabase.client.query(
            `select r.role from unnest($1::text[]) r(role)
             where has_function_privilege(r.role, 'memory_stack.trust_plain_claims()', 'execute')`,
            [[appRole, adminRole, anon]],
        );
        expect(rows).toEqual([]);
    });

    it("takes TRUNCATE, REFERENCES and TRIGGER on the memory tables from the app role", async () => {
        const { rows } = await supabase.client.query(
            `select count(*)::int as n from unnest($1::text[]) t(name), unnest(array['TRUNCATE', 'REFERENCES', 'TRIGGER']) p(privilege)
             where has_table_privilege($2, 'public.' || t.name, p.privilege)`,
            [MEMORY_TABLES, supabase.options.appRole],
        );
        expect(rows[0].n).toBe(0);
    });
});
