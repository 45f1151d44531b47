// The Verification dynamic resource run the way the Pulumi engine runs it: registered under mocks,
// its serialized provider (`__provider`) loaded back from that text in a fresh module context,
// and driven create → diff → update → (a breakage) update → delete against a real PostgreSQL 15.
// Refresh (read) and the drift gates run through Pulumi's own host: test/lifecycle/lifecycle-drift-gate.test.ts.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ConnectionSettings } from "../../engine/db/url";
import { applyMigrations, describeVariant } from "../../engine/migrate/index";
import type { VerificationInputs } from "../../components/verification";
import { migrationsFor } from "../support/apply-sql";
import { until } from "../support/poll";
import { loadProvider, registerVerification, type RegisteredDynamic } from "../support/schema-provider";
import { grantStackPrivileges, schemaDatabase, type SchemaDatabase } from "../support/schema-db";
import { isWrappedSecret } from "../support/secrets";
import { databaseTrace } from "../support/verify-trace";

let schema: SchemaDatabase;
let connection: ConnectionSettings;
let registered: RegisteredDynamic<VerificationInputs>;

beforeAll(async () => {
    schema = await schemaDatabase("verify_resource", {}, false);
    await applyMigrations(schema.client, migrationsFor(schema.options), { variant: describeVariant(schema.options) });
    await grantStackPrivileges(schema.client, schema.options);
    connection = schema.db.settings;
    registered = await registerVerification("memory-verification", {
        connection,
        schema: schema.options,
        schemaChecksum: "sha256-of-the-schema",
    });
});

afterAll(async () => {
    await schema?.drop();
});

/** Sessions of the provider the server still lists. */
async function verifySessions(): Promise<number> {
    const {
        rows: [{ n }],
    } = await schema.client.query<{ n: number }>(
        "select count(*)::int as n from pg_stat_activity where datname = current_database() and application_name = 'memory-stack-verify'",
    );
    return n;
}

describe("the serialized Verification provider", () => {
    it("is small and holds no password, no connection and no machine path", () => {
        expect(registered.providerText.length).toBeLessThan(4_000);
        expect(registered.providerText).not.toContain(connection.password);
        expect(registered.providerText).not.toContain(String(connection.port));
        expect(registered.providerText).not.toContain(process.cwd());
    });

    it("receives the connection as a secret", () => {
        expect(isWrappedSecret(registered.rawInputs.connection)).toBe(true);
        expect(registered.opts.additionalSecretOutputs).toContain("connection");
    });

    it("verifies on create, diffs as unchanged on the same inputs, verifies again on update, fails the update on a breakage, and deletes nothing", async () => {
        const provider = loadProvider(registered.providerText);
        const before = await databaseTrace(schema.client);

        const created = await provider.create(registered.inputs);

        expect(created.id).toBe("memory-stack-verification");
        expect(created.outs).toMatchObject({
            variant: "jsonb",
            schemaChecksum: "sha256-of-the-schema",
            counts: { tables: 7, views: 3, functions: 4, triggers: 4, indexes: 49 },
        });
        expect(created.outs.roundTrips.catalog).toBeLessThanOrEqual(3);
        expect(Number.isNaN(Date.parse(created.outs.checkedAt))).toBe(false);
        // The password is in the connection only, which refresh needs and additionalSecretOutputs keeps secret in state.
        expect(created.outs.connection).toEqual(connection);
        expect(JSON.stringify({ ...created.outs, connection: undefined })).not.toContain(connection.password);
        console.log(
            `Verification.create on the test database: ${created.outs.durationMs} ms, round trips: ` +
                `catalog ${created.outs.roundTrips.catalog}, behaviour checks ${created.outs.roundTrips.functional}`,
        );

        const unchanged = await provider.diff(created.id, created.outs, registered.inputs);
        expect(unchanged).toEqual({ changes: false, replaces: [], deleteBeforeReplace: false });
        const moved = await provider.diff(created.id, created.outs, { ...registered.inputs, schemaChecksum: "sha256-of-the-next-schema" });
        expect(moved).toEqual({ changes: true, replaces: [], deleteBeforeReplace: false });

        const updated = await provider.update(created.id, created.outs, registered.inputs);
        expect(updated.outs).toMatchObject({ counts: created.outs.counts, variant: "jsonb" });
        expect(await databaseTrace(schema.client)).toEqual(before);

        await schema.client.query("drop index idx_sessions_status; drop view user_session_stats");
        const failed = provider.update(created.id, updated.outs, registered.inputs);
        await expect(failed).rejects.toThrow("index sessions.idx_sessions_status: missing");
        await expect(failed).rejects.toThrow("view user_session_stats: missing");

        await provider.delete(created.id, updated.outs);
        // A closed backend may take a moment to exit.
        await until("the provider's sessions to end", async () => (await verifySessions()) === 0 || undefined, 5_000);
        expect(await verifySessions()).toBe(0);
    });
});
