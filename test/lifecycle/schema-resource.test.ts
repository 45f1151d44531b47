// The SchemaMigration dynamic resource run the way the Pulumi engine runs it: the provider taken
// from its serialized form (`__provider`, as registered under mocks), loaded from that text in a
// fresh module context, and driven create → diff → update → delete against a real PostgreSQL 15.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ConnectionSettings } from "../../engine/db/url";
import { readLedger } from "../../engine/migrate/index";
import { STATE_VERSION } from "../../engine/providers/schema-migration";
import { loadMigrationSources, renderMigrations, type SchemaOptions } from "../../engine/migrate/render";
import { freshDatabase, type TestDatabase } from "../support/database";
import { remainingMemoryObjects } from "../support/memory-objects";
import { migration } from "../support/migrations";
import { loadProvider, registerSchemaMigration, type RegisteredSchemaMigration } from "../support/schema-provider";
import { schemaDatabase } from "../support/schema-db";
import { secretPaths } from "../support/secrets";

let db: TestDatabase;
let drop: () => Promise<void>;
let connection: ConnectionSettings;
let options: SchemaOptions;
let first: RegisteredSchemaMigration;

const extra = migration("0099_extra.sql", "-- one more migration, shipped later\ncreate table public.extra_notes (id int primary key);\n");

beforeAll(async () => {
    ({ db, options, drop } = await schemaDatabase("schema_resource", {}, false));
    connection = db.settings;
    first = await registerSchemaMigration("memory-schema", { connection, schema: options });
});

afterAll(async () => {
    await drop?.();
});

describe("the serialized SchemaMigration provider", () => {
    it("is small and holds no password, no connection and no machine path", () => {
        expect(first.providerText.length).toBeLessThan(4_000);
        expect(first.providerText).not.toContain(connection.password);
        expect(first.providerText).not.toContain(String(connection.port));
        expect(first.providerText).not.toContain(process.cwd());
    });

    it("sends the connection as a secret and declares it a secret output", () => {
        expect(secretPaths(first.rawInputs)).toEqual(["connection"]);
        expect(first.opts.additionalSecretOutputs).toContain("connection");
    });

    it("creates, diffs without change, updates with one more migration and rolls back on delete", async () => {
        const provider = loadProvider(first.providerText);
        const client = await db.connect();

        const created = await provider.create(first.inputs);

        const names = renderMigrations(loadMigrationSources(), options).map((m) => m.name);
        expect(created.id).toBe("memory-stack-schema");
        expect(created.outs).toMatchObject({ version: names.at(-1), appliedMigrations: names, variant: "jsonb", checksum: first.inputs.checksum });
        expect((await readLedger(client)).map((row) => row.name)).toEqual(names);
        // Every output that holds the password is declared secret, so state never holds it in plaintext.
        const holdingPassword = Object.keys(created.outs).filter((key) => JSON.stringify(created.outs[key]).includes(connection.password));
        expect(holdingPassword).toEqual(["connection"]);
        expect(first.opts.additionalSecretOutputs).toEqual(expect.arrayContaining(holdingPassword));

        expect(await provider.diff(created.id, created.outs, first.inputs)).toEqual({ changes: false, replaces: [], deleteBeforeReplace: false });

        const second = await registerSchemaMigration("memory-schema-v2", { connection, schema: options, migrations: [...renderMigrations(loadMigrationSources(), options), extra] });
        expect(second.providerText).toBe(first.providerText);
        expect(await provider.diff(created.id, created.outs, second.inputs)).toMatchObject({ changes: true, replaces: [] });
        const ledgerBefore = await readLedger(client);

        const updated = await provider.update(created.id, created.outs, second.inputs);

        expect(updated.outs).toMatchObject({ version: "0099_extra.sql", appliedMigrations: [...names, "0099_extra.sql"] });
        expect(await readLedger(client)).toEqual([...ledgerBefore, expect.objectContaining({ name: "0099_extra.sql" })]);

        await client.query("insert into sessions (session_id, agent_name) values ('live-1', 'sales')");
        await expect(provider.delete(created.id, updated.outs)).rejects.toThrow("1 row would be lost (sessions: 1)");
        expect(await remainingMemoryObjects(client, options)).toContain("table sessions");

        const allowed = await registerSchemaMigration("memory-schema-v3", { connection, schema: options, allowDataLoss: true, migrations: [...renderMigrations(loadMigrationSources(), options), extra] });
        expect(await provider.diff(created.id, updated.outs!, allowed.inputs)).toMatchObject({ changes: true, replaces: [] });
        const final = await provider.update(created.id, updated.outs, allowed.inputs);
        await provider.delete(created.id, final.outs);

        expect(await remainingMemoryObjects(client, options)).toEqual([]);
        expect((await client.query("select to_regclass('memory_stack.migrations') as t")).rows[0].t).toBeNull();
        await provider.delete(created.id, final.outs); // already gone: success
    });

    it("treats a new password, host or port as an update, never a replacement, without touching the database", async () => {
        const provider = loadProvider(first.providerText);
        const olds = { ...first.inputs, stateVersion: STATE_VERSION, version: "0009_rls.sql", appliedMigrations: [], missing: [] };
        for (const change of [{ password: "rotated-password" }, { port: 1 }, { host: "db.internal" }]) {
            const news = { ...first.inputs, connection: { ...connection, ...change } };
            expect(await provider.diff("memory-stack-schema", olds, news)).toEqual({ changes: true, replaces: [], deleteBeforeReplace: false });
        }
    });

    it("deletes successfully when the database itself is gone", async () => {
        const gone = await freshDatabase("schema_resource_gone");
        await gone.drop();
        const provider = loadProvider(first.providerText);
        const olds = { ...first.inputs, connection: { ...connection, database: gone.name }, stateVersion: 1, version: "", appliedMigrations: [] };
        await expect(provider.delete("memory-stack-schema", olds)).resolves.toBeUndefined();
    });
});
