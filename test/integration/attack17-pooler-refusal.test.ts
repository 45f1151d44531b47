// attack17: the refusal to migrate through a transaction pooler (issue 16), where it is missed.
// Debian's PgBouncer in transaction mode in front of the run's PostgreSQL, with the owner in its auth
// file as an external pooler (Supavisor's transaction port, a team's own PgBouncer) has it.
import { Client, type ClientConfig } from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { parseConnectionUrl } from "../../engine/db/url";
import { loadRollbackSql, readLedger, rollbackSchema } from "../../engine/migrate/index";
import { schemaMigration } from "../../engine/providers/index";
import { STATE_VERSION, type SchemaMigrationOutputs } from "../../engine/providers/schema-migration";
import { applyMigrations, migrationsFor } from "../support/apply-sql";
import { cli } from "../support/cli";
import { dropRoles, freshDatabase, type TestDatabase } from "../support/database";
import { findPgBouncer, startOwnerPgBouncer, type RunningPgBouncer } from "../support/pgbouncer";
import { schemaInputs } from "../support/schema-inputs";

const binary = findPgBouncer();
if (!binary) {
    it.skip("transaction-pooler refusal: pgbouncer is not installed (apt-get install pgbouncer)", () => undefined);
}

/** The jsonb schema's options with roles of this database's own. */
function schemaOptionsFor(db: { name: string }) {
    return {
        vector: false,
        vectorDimensions: 3,
        vectorIndex: "hnsw" as const,
        rls: true,
        appRole: `${db.name}_app`,
        adminRole: `${db.name}_admin`,
    };
}

describe.skipIf(!binary)("attack17: migrating through a transaction pooler", () => {
    const databases: TestDatabase[] = [];
    const bouncers: RunningPgBouncer[] = [];

    afterAll(async () => {
        await Promise.all(bouncers.map((bouncer) => bouncer.stop()));
        for (const db of databases) {
            await db.drop();
            await dropRoles(db.server, [`${db.name}_app`, `${db.name}_admin`]);
        }
    });

    async function database(prefix: string): Promise<TestDatabase> {
        const db = await freshDatabase(prefix);
        databases.push(db);
        return db;
    }

    /** The stack's rendered transaction-mode ini for `db` (its pool sizes), changed by `edit`; the owner in its auth file. */
    async function pooler(
        db: TestDatabase,
        pooling: object,
        edit?: (ini: string) => string,
    ): Promise<{ url: string; client: () => ClientConfig }> {
        const bouncer = await startOwnerPgBouncer(db, { mode: "transaction", ...pooling }, edit);
        bouncers.push(bouncer);
        const { user, password } = db.server;
        return {
            url: `postgresql://${user}:${encodeURIComponent(password)}@${bouncer.host}:${bouncer.port}/${db.name}?sslmode=disable`,
            client: () => ({ host: bouncer.host, port: bouncer.port, user, password, database: db.name }),
        };
    }

    // What breaks: engine/db/pooler.ts decides "one server session" when a second connection's transaction lands on
    // another backend and the first connection's next transaction on its old one. A pooler that hands out its idle
    // servers in turn (PgBouncer's server_round_robin = 1, used to spread load over replicas or a load balancer) does
    // exactly that whenever it holds two idle servers, so the probe passes every time. The apply then takes the
    // migration lock on one backend, PgBouncer's reset (discard all) drops it, and the first migration's commit
    // fails with "0001_foundation.sql released memory-stack's migration lock ... Remove that from the file".
    // What the user loses: the refusal issue 16 promises, and the direct URL it names. They are told to edit a
    // shipped migration file instead; the same miss happens on the stack's own LIFO pooler about once in 20-60
    // probes while agents keep it busy (seen with 4 looping clients: 1-5 misses in 60 probes).
    it("refuses a round-robin transaction pooler with two idle servers, naming the server's own port", async () => {
        const db = await database("attack17_rr");
        const { url, client } = await pooler(db, { defaultPoolSize: 2, reservePoolSize: 0 }, (ini) => `${ini}server_round_robin = 1\n`);
        // Two servers in the pool, idle: what any pooler that served two transactions at once keeps.
        const warm = [new Client(client()), new Client(client())];
        for (const c of warm) {
            await c.connect();
            await c.query("begin");
            await c.query("select 1");
        }
        for (const c of warm) {
            await c.query("commit");
            await c.end();
        }

        const result = await cli(["apply", "--url", url, "--app-role", `${db.name}_app`, "--admin-role", `${db.name}_admin`]);

        expect(result.code, result.stderr).toBe(1);
        expect(result.stderr).toContain("refusing to migrate through a transaction pooler");
        expect(result.stderr).toContain(`listens on port ${db.server.port}`);
        expect(result.stderr).not.toContain("Remove that from the file");
    });

    // What breaks: the schema resource's delete (`pulumi destroy`) runs the rollback on the connection in state with
    // no pooler check; create and update refuse a transaction pooler, delete does not. State written before the
    // refusal existed (an external databaseUrl on Supabase's transaction port, the connection string its dashboard
    // shows first) still holds such a connection, and so does a server later put behind a pooler on the same address.
    // Through the stack's own transaction-mode ini the rollback takes the migration lock on one backend, PgBouncer's
    // reset (discard all) drops it when that transaction ends, and the rollback then drops the whole schema holding
    // no lock at all (its commit, unlike a migration's, does not check the lock is still held).
    // What the user loses: the serialization the lock promises (an apply or up on the direct URL can run beside the
    // drops) and the refusal with the direct URL that create and update give.
    it("has `pulumi destroy` (the schema resource's delete) refuse a transaction pooler too, leaving the schema in place", async () => {
        const db = await database("attack17_destroy");
        const options = schemaOptionsFor(db);
        const inputs = schemaInputs(db.settings, options);
        const { outs } = await schemaMigration.create(inputs);
        const { url } = await pooler(db, {});

        const destroyed = await schemaMigration
            .remove("memory-schema", {
                ...(outs as SchemaMigrationOutputs),
                stateVersion: STATE_VERSION,
                connection: parseConnectionUrl(url),
            })
            .then(
                () => "rolled back",
                (error: Error) => error.message,
            );

        expect(destroyed).toContain("refusing to migrate through a transaction pooler");
        expect(destroyed).toContain(`listens on port ${db.server.port}`);
        const owner = await db.connect();
        expect((await readLedger(owner)).length).toBe(inputs.migrations.length);
    });
    // What breaks: every migration's commit asks whether the session still holds the migration lock
    // (engine/migrate/lock-held.ts) and rolls back when it does not; the rollback's commit does not ask. Where the
    // pooler check lets a transaction pooler through (a busy pooler that keeps sessions: once in 1,800 probes; state
    // or code that skips the check), an apply fails closed but a rollback drops the whole schema holding no lock,
    // the stack's own PgBouncer having dropped it with its reset right after it was taken.
    // What the user loses: the lock's promise that no apply or `pulumi up` runs beside the drops.
    it("has the rollback engine refuse to commit once its session lost the migration lock, dropping nothing", async () => {
        const db = await database("attack17_rollback_lock");
        const options = schemaOptionsFor(db);
        const migrations = migrationsFor(options);
        const owner = await db.connect();
        await applyMigrations(owner, migrations, options);
        const { client } = await pooler(db, {});
        const pooled = new Client(client());
        await pooled.connect();

        const result = await rollbackSchema(pooled, { rollbackSql: loadRollbackSql(), allowDataLoss: true, defaults: options }).then(
            () => "rolled back",
            (error: Error) => error.message,
        );
        await pooled.end();

        expect(result).toContain("migration lock");
        expect((await readLedger(owner)).length).toBe(migrations.length);
    });
});
