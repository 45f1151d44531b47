// Figure: row level security under pooling and misuse. 200 clients across 50 users, reading and
// writing as the app role on 2 server connections, while 10 misbehaving clients set user ids at
// session level and disconnect (test/support/rls-load.ts): through Debian's PgBouncer on the
// rendered config (transaction mode, pool 2), where they also leave a temp table of their victim's
// rows and other session state for the reset to clear, and through an application-side pool of 2 straight to
// PostgreSQL 15 (max_connections 20, the seed's). Rows seen or written against the rules, errors,
// transactions and latency; the leak test (test/integration/rls-load.test.ts) runs the same, shorter.
import { Client } from "pg";
import { parseConfig } from "../engine/config/config";
import { applyMigrations } from "../engine/migrate/index";
import { startEmbeddedPostgres, type RunningServer } from "../test/support/embedded-server";
import { startPgBouncer, type RunningPgBouncer } from "../test/support/pgbouncer";
import { runRlsLoad, seedUsers, type RlsLoadResult } from "../test/support/rls-load";
import type { BenchContext, PartResult, Row } from "./support/measure";
import { rendered, schemaOptions } from "./support/schema";

const DATABASE = "rls";
const PASSWORD = "bench-rls-app-password-0123";

export async function benchRls(ctx: BenchContext): Promise<PartResult> {
    const seconds = ctx.quick ? 3 : 20;
    const options = schemaOptions();
    const config = parseConfig({ database: DATABASE, pooling: JSON.stringify({ defaultPoolSize: 2, reservePoolSize: 0 }) });
    let server: RunningServer | undefined;
    let bouncer: RunningPgBouncer | undefined;
    try {
        ctx.progress(`rls: starting PostgreSQL 15 with max_connections=${config.maxConnections}`);
        server = await startEmbeddedPostgres({ flags: ["-c", `max_connections=${config.maxConnections}`] });
        const settings = { host: server.host, port: server.port, user: server.user, password: server.password };
        const maintenance = new Client({ ...settings, database: "postgres" });
        await maintenance.connect();
        try {
            await maintenance.query(`create database ${DATABASE}`);
        } finally {
            await maintenance.end();
        }
        let users: string[];
        const schemaOwner = new Client({ ...settings, database: DATABASE });
        await schemaOwner.connect();
        try {
            const schema = rendered(options);
            await applyMigrations(schemaOwner, schema.migrations, { variant: schema.variant, schema: options, grantRoles: true });
            await schemaOwner.query(`alter role ${options.appRole} login password '${PASSWORD}'`);
            users = await seedUsers(schemaOwner, 50);
        } finally {
            await schemaOwner.end();
        }
        const app = { ...settings, user: options.appRole, password: PASSWORD, database: DATABASE };
        bouncer = await startPgBouncer({ config, server, users: [{ name: options.appRole, password: PASSWORD }] });

        ctx.progress(`rls: through PgBouncer ${bouncer.version}, pool 2, ${seconds} s`);
        const pooled = await runRlsLoad({
            path: { kind: "pgbouncer", connection: { ...app, host: bouncer.host, port: bouncer.port } },
            plainTrusted: false,
            leftovers: true,
            users,
            durationMs: seconds * 1000,
        });
        ctx.progress(`rls: through an application pool of 2, straight to PostgreSQL, ${seconds} s`);
        const direct = await runRlsLoad({
            path: { kind: "app-pool", connection: app, size: 2 },
            plainTrusted: false,
            users,
            durationMs: seconds * 1000,
        });
        return {
            rows: [
                ...rowsFor(`PgBouncer ${bouncer.version}, pool 2`, pooled, seconds),
                ...rowsFor("application pool of 2, direct", direct, seconds),
            ],
            figures: { seconds, pgbouncer: bouncer.version, pooled, direct },
        };
    } catch (error) {
        const message = (error as Error).message;
        if (/is not installed/.test(message)) {
            ctx.progress(`rls: skipped: ${message}`);
            return {
                rows: [{ part: "rls", figure: "(skipped)", value: null, unit: "rows", baseline: null, ratio: null, note: message }],
                figures: { skipped: message },
            };
        }
        throw error;
    } finally {
        await bouncer?.stop();
        await server?.stop();
    }
}

function rowsFor(path: string, result: RlsLoadResult, seconds: number): Row[] {
    const transactions = result.transactions.bound + result.transactions.plain + result.transactions.none;
    const row = (figure: string, value: number, unit: Row["unit"], note?: string): Row => ({
        part: "rls",
        figure: `${path}: ${figure}`,
        value,
        unit,
        baseline: null,
        ratio: null,
        repetitions: 1,
        ...(note === undefined ? {} : { note }),
    });
    return [
        row("rows of another user seen or written", result.leaks, "rows", "must be 0; 200 clients, 50 users, 10 setting session-level ids"),
        row("errors", result.errors, "errors", result.errorSamples[0]),
        row(
            `transactions in ${seconds} s`,
            transactions,
            "transactions",
            `bound ${result.transactions.bound}, plain ${result.transactions.plain}, none ${result.transactions.none}; ${result.sessionIdsSet} session-level ids set` +
                (result.stateLeft > 0 ? `, session state left ${result.stateLeft} times, found ${result.stateFound} times` : ""),
        ),
        row(
            "transaction latency p50",
            result.latencyMs.p50,
            "ms",
            `p95 ${result.latencyMs.p95} ms, p99 ${result.latencyMs.p99} ms, waiting for a connection included`,
        ),
    ];
}
