// `pulumi destroy` says what the rollback did: Pulumi shows the provider's stderr with the resource, and
// that is the only place a user learns that nothing was dropped because the ledger is gone, or which
// recorded objects were kept because the application depends on them.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { NOTHING_TO_ROLL_BACK } from "../../engine/migrate/rollback-summary";
import { memoryProgram, startLifecycle, type Lifecycle } from "../support/lifecycle";
import { remainingMemoryObjects } from "../support/memory-objects";
import { schemaDatabase, type SchemaDatabase } from "../support/schema-db";

let schema: SchemaDatabase;
let life: Lifecycle;

beforeEach(async () => {
    [schema, life] = await Promise.all([schemaDatabase("destroy_report", {}, false), startLifecycle()]);
    await life.up(await memoryProgram({ connection: schema.db.settings, schema: schema.options }));
});

afterEach(async () => {
    await life?.host.stop();
    await schema?.drop();
});

describe("pulumi destroy's report", () => {
    it("says how long the rollback took when it dropped the schema", async () => {
        await life.destroy();

        expect(life.host.stderr()).toMatch(/memory-stack: rolled back the memory schema in \d+ ms/);
        expect(await remainingMemoryObjects(schema.client, schema.options)).toEqual([]);
    });

    it("says nothing was dropped when the ledger is gone, and leaves the memory tables", async () => {
        await schema.client.query("drop schema memory_stack cascade");

        await life.destroy();

        expect(life.host.stderr()).toContain(`memory-stack: ${NOTHING_TO_ROLL_BACK}`);
        expect(await remainingMemoryObjects(schema.client, schema.options)).toContain("table sessions");
    });

    it("names a recorded object it kept because the application's table uses it", async () => {
        await schema.client.query("create table public.app_tokens (id uuid primary key default public.uuid_generate_v4())");
        await schema.client.query("insert into public.app_tokens default values");

        await life.destroy();

        expect(life.host.stderr()).toMatch(/memory-stack: kept \(other objects depend on them\): [^\n]*extension "uuid-ossp"/);
        expect((await schema.client.query("select count(*)::int as n from public.app_tokens")).rows[0].n).toBe(1);
    });
});
