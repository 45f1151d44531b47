// The preflight and the ledger's options as `pulumi up` meets them, through Pulumi's dynamic-provider
// host: an application table with a memory name fails the up with the conflict and changes nothing;
// once it (and its primary key's index) is out of the way the up goes through; a later up whose config contradicts the ledger
// (rls turned off) fails naming the config key and both values, and leaves the schema as it was.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readLedger } from "../../engine/migrate/index";
import { databaseFingerprint } from "../support/database-fingerprint";
import { memoryProgram, startLifecycle, type Lifecycle } from "../support/lifecycle";
import { schemaDatabase, type SchemaDatabase } from "../support/schema-db";

let schema: SchemaDatabase;
let life: Lifecycle;

beforeAll(async () => {
    [schema, life] = await Promise.all([schemaDatabase("lifecycle_preflight", {}, false), startLifecycle()]);
    await schema.client.query(`create table public.audit_logs (id bigserial primary key, actor text);
        insert into public.audit_logs (actor) select 'app-' || i from generate_series(1, 50) i`);
});

afterAll(async () => {
    await life?.host.stop();
    await schema?.drop();
});

const roles = () => [schema.options.appRole, schema.options.adminRole];

describe("pulumi up on a database that holds an application table named like a memory table", () => {
    it("fails with the preflight's conflict and changes nothing", async () => {
        const before = await databaseFingerprint(schema.client, roles());

        const up = life.up(await memoryProgram({ connection: schema.db.settings, schema: schema.options }));

        await expect(up).rejects.toThrow("refusing to apply the memory schema: 2 conflicts found before any change; nothing was changed.");
        await expect(up).rejects.toThrow("- table public.audit_logs (50 rows): exists and is not the stack's");
        // its primary key's index is named like the memory table's, and outlives a rename of the table
        await expect(up).rejects.toThrow("- index public.audit_logs_pkey: exists and is not the stack's");
        expect(life.state.size).toBe(0);
        expect(await databaseFingerprint(schema.client, roles())).toEqual(before);
    });

    it("goes through once the application's table and index are renamed, and refuses a config that contradicts the ledger", async () => {
        await schema.client.query(
            "alter table public.audit_logs rename to app_audit_logs; alter index audit_logs_pkey rename to app_audit_logs_pkey",
        );
        await life.up(await memoryProgram({ connection: schema.db.settings, schema: schema.options }));
        const ledger = await readLedger(schema.client);

        const up = life.up(await memoryProgram({ connection: schema.db.settings, schema: { ...schema.options, rls: false } }));

        await expect(up).rejects.toThrow(
            "memory-stack:rls asks for rls false, but the stack's state (its last up) records rls true; nothing was done.",
        );
        expect(await readLedger(schema.client)).toEqual(ledger);
    });
});
