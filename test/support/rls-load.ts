// Many clients, few server connections, some clients misbehaving: does any client ever see or write
// a row that is not its user's? The workload of the RLS leak test and of `npm run bench -- --only rls`.
//
// Well-behaved clients each run transactions in a loop as the app role, cycling through three ways:
//   bound  memory_stack.bind_user(own id): reads memory_logs and sessions, appends a memory_logs row;
//   plain  set_config('request.jwt.claim.sub', own id, true), the PostgREST convention: honoured only
//          for a login granted the plain-claim switch (`plainTrusted`), elsewhere it must act as no id;
//   none   no id at all: must see no row and have its write refused.
// Every row a client sees must be its user's (none at all where it has no usable id). Misbehaving
// clients meanwhile set a user id at session level — set_config(..., false) and SET, both the claim
// and the binding — on the same server connections, and disconnect (or go back to the application's
// pool without a reset). With `leftovers` they also leave what only a resetting pooler can clear: a
// temp table of their victim's rows, a held cursor, an advisory lock, a prepared statement, a LISTEN;
// well-behaved clients then read any such table they find. A leak is any row seen or written
// against these rules.
import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import { Client, Pool, type ClientConfig, type PoolClient } from "pg";

export interface RlsLoadOptions {
    /** How clients reach PostgreSQL as the app role: through PgBouncer (one connection per client), or an application-side pg.Pool. */
    path: { kind: "pgbouncer"; connection: ClientConfig } | { kind: "app-pool"; connection: ClientConfig; size: number };
    /** Plain transaction-local claims are honoured on this path (the app's login holds the plain-claim switch). */
    plainTrusted: boolean;
    /** Misbehaving clients also leave session state behind (temp table, cursor, lock, prepared statement, LISTEN). Default: false. */
    leftovers?: boolean;
    /** The users, each with a session the owner created. */
    users: string[];
    /** Well-behaved clients. Default: 200. */
    clients?: number;
    /** Misbehaving clients. Default: 10. */
    misbehaving?: number;
    durationMs: number;
}

export interface RlsLoadResult {
    /** Well-behaved transactions completed, per way of giving the id. */
    transactions: { bound: number; plain: number; none: number };
    /** Rows a client saw or wrote that were not its user's (or any row, where it had no usable id). */
    leaks: number;
    /** A few of them, for the failure message. */
    leakSamples: string[];
    /** Writes refused as they must be (no usable id): 42501. */
    refusedWrites: number;
    /** Session-level ids the misbehaving clients set. */
    sessionIdsSet: number;
    /** Rounds in which a misbehaving client left session state behind (with `leftovers`). */
    stateLeft: number;
    /** Transactions of well-behaved clients that found another client's session state on their connection (with `leftovers`). */
    stateFound: number;
    errors: number;
    errorSamples: string[];
    /** Transaction latency of the well-behaved clients, waiting for a connection included. */
    latencyMs: { p50: number; p95: number; p99: number; max: number };
    durationMs: number;
}

type Way = "bound" | "plain" | "none";
const WAYS: Way[] = ["bound", "plain", "none"];

export async function runRlsLoad(options: RlsLoadOptions): Promise<RlsLoadResult> {
    const clients = options.clients ?? 200;
    const misbehaving = options.misbehaving ?? 10;
    const result: RlsLoadResult = {
        transactions: { bound: 0, plain: 0, none: 0 },
        leaks: 0,
        leakSamples: [],
        refusedWrites: 0,
        sessionIdsSet: 0,
        stateLeft: 0,
        stateFound: 0,
        errors: 0,
        errorSamples: [],
        latencyMs: { p50: 0, p95: 0, p99: 0, max: 0 },
        durationMs: 0,
    };
    const latencies: number[] = [];
    const leak = (what: string) => {
        result.leaks++;
        if (result.leakSamples.length < 5) result.leakSamples.push(what);
    };
    const error = (e: unknown) => {
        result.errors++;
        if (result.errorSamples.length < 5) result.errorSamples.push(describe(e));
    };

    const pool = options.path.kind === "app-pool" ? new Pool({ ...options.path.connection, max: options.path.size }) : undefined;
    pool?.on("error", () => undefined);
    const connection = options.path.connection;
    const started = performance.now();
    const deadline = started + options.durationMs;

    const wellBehaved = async (index: number) => {
        const user = options.users[index % options.users.length];
        let client: Client | undefined;
        try {
            if (!pool) client = await connect(connection);
            // Every way at least once, however loaded the machine: a run whose deadline passed before the first
            // transaction finished would prove nothing about any of them.
            for (let round = 0; round < WAYS.length || performance.now() < deadline; round++) {
                const way = WAYS[(index + round) % WAYS.length];
                const began = performance.now();
                const session = pool ? await pool.connect() : client!;
                try {
                    await transaction(session, way, user);
                    latencies.push(performance.now() - began);
                    result.transactions[way]++;
                } finally {
                    (session as PoolClient).release?.();
                }
            }
        } catch (e) {
            error(e);
        } finally {
            await client?.end().catch(() => undefined);
        }
    };

    // Runs one transaction the way `way` gives the id, and checks what it saw and could write.
    const transaction = async (session: Client | PoolClient, way: Way, user: string) => {
        const entitled = way === "bound" || (way === "plain" && options.plainTrusted) ? user : undefined;
        await session.query("begin");
        try {
            if (way === "bound") await session.query("select memory_stack.bind_user($1)", [user]);
            if (way === "plain") await session.query("select set_config('request.jwt.claim.sub', $1, true)", [user]);
            const { rows } = await session.query<{ user_id: string | null; n: number }>(
                `select user_id::text, count(*)::int as n from (
                     select user_id from public.memory_logs union all select user_id from public.sessions) seen group by 1`,
            );
            for (const row of rows) {
                if (row.user_id !== entitled) leak(`${way} client of ${user} saw ${row.n} row(s) of ${row.user_id}`);
            }
            if (options.leftovers) await inspectLeftovers(session, way, user, entitled);
            await session.query("savepoint write");
            try {
                await session.query("insert into public.memory_logs (user_id, agent_name, operation) values ($1, 'rls-load', 'write')", [
                    user,
                ]);
                if (entitled === undefined) leak(`${way} client with no usable id wrote a row for ${user}`);
            } catch (e) {
                if ((e as { code?: string }).code !== "42501" || entitled !== undefined) throw e;
                result.refusedWrites++;
                await session.query("rollback to savepoint write");
            }
            await session.query("commit");
        } catch (e) {
            await session.query("rollback").catch(() => undefined);
            throw e;
        }
    };

    // What another client left on this server connection: its temp table's rows count as rows seen.
    const inspectLeftovers = async (session: Client | PoolClient, way: Way, user: string, entitled: string | undefined) => {
        const { rows } = await session.query<{ temp: boolean; state: number }>(
            `select to_regclass('pg_temp.leftovers') is not null as temp,
                    (select count(*)::int from pg_locks where locktype = 'advisory' and pid = pg_backend_pid())
                    + (select count(*)::int from pg_prepared_statements) + (select count(*)::int from pg_cursors)
                    + (select count(*)::int from pg_listening_channels()) as state`,
        );
        if (rows[0].temp || rows[0].state > 0) result.stateFound++;
        if (!rows[0].temp) return;
        const left = await session.query<{ user_id: string; n: number }>(
            "select user_id::text, count(*)::int as n from pg_temp.leftovers group by 1",
        );
        for (const row of left.rows) {
            if (row.user_id !== entitled) {
                leak(`${way} client of ${user} found ${row.n} row(s) of ${row.user_id} in another client's temp table`);
            }
        }
    };

    // Copies the victim's rows into a temp table and a held cursor, and takes session-wide state, on purpose.
    const leaveState = async (session: Client | PoolClient, victim: string, name: string) => {
        await session.query("begin");
        await session.query("select memory_stack.bind_user($1)", [victim]);
        await session.query("create temp table if not exists leftovers (user_id uuid)");
        await session.query("insert into leftovers select user_id from public.sessions");
        await session.query(`declare ${name} cursor with hold for select user_id from public.sessions`);
        await session.query("commit");
        // A try lock: a lock left on the other server connection must not block this one.
        await session.query("select pg_try_advisory_lock(42)");
        await session.query(`prepare ${name} as select 1`);
        await session.query("listen leftovers");
        result.stateLeft++;
    };

    const misbehave = async (index: number) => {
        for (let round = 0; performance.now() < deadline; round++) {
            const victim = options.users[(index * 7 + round) % options.users.length];
            try {
                const session = pool ? await pool.connect() : await connect(connection);
                try {
                    // Both spellings of a session-level id, and a forged session-level binding for good measure.
                    if (round % 2 === 0) {
                        await session.query("select set_config('request.jwt.claim.sub', $1, false)", [victim]);
                        await session.query(
                            "select set_config('memory_stack.bound_user', pg_backend_pid() || ' ' || extract(epoch from now()) || ' ' || $1, false)",
                            [victim],
                        );
                    } else {
                        await session.query(`set request.jwt.claim.sub = '${victim}'`);
                        await session.query(`set request.jwt.claims = '${JSON.stringify({ sub: victim })}'`);
                    }
                    result.sessionIdsSet++;
                    if (options.leftovers) await leaveState(session, victim, `leftover_${index}_${round}`);
                } finally {
                    // Gone without a reset: disconnected, or handed back to the application's pool as it is.
                    if (pool) (session as PoolClient).release();
                    else await (session as Client).end().catch(() => undefined);
                }
            } catch (e) {
                error(e);
            }
        }
    };

    try {
        await Promise.all([
            ...Array.from({ length: clients }, (_, i) => wellBehaved(i)),
            ...Array.from({ length: misbehaving }, (_, i) => misbehave(i)),
        ]);
    } finally {
        await pool?.end().catch(() => undefined);
    }
    result.durationMs = Math.round(performance.now() - started);
    result.latencyMs = percentiles(latencies);
    return result;
}

/** Inserts the users and one session each, as the owner; returns their ids. */
export async function seedUsers(owner: Client, count: number): Promise<string[]> {
    const users = Array.from({ length: count }, () => randomUUID());
    await owner.query("insert into public.users (id) select unnest($1::uuid[])", [users]);
    await owner.query(
        "insert into public.sessions (session_id, user_id, agent_name) select 'rls-load-' || u, u, 'rls-load' from unnest($1::uuid[]) u",
        [users],
    );
    return users;
}

async function connect(config: ClientConfig): Promise<Client> {
    const client = new Client({ ...config, connectionTimeoutMillis: 30_000 });
    client.on("error", () => undefined);
    await client.connect();
    return client;
}

function percentiles(samples: number[]): RlsLoadResult["latencyMs"] {
    if (samples.length === 0) return { p50: 0, p95: 0, p99: 0, max: 0 };
    const sorted = [...samples].sort((a, b) => a - b);
    const at = (q: number) => Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] * 10) / 10;
    return { p50: at(0.5), p95: at(0.95), p99: at(0.99), max: at(1) };
}

function describe(e: unknown): string {
    const { code, message } = e as { code?: string; message?: string };
    return `${code ?? ""} ${message ?? String(e)}`.trim();
}
