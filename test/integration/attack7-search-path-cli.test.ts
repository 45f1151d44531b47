// attack7: the commands that do not change the schema, on a database where a role may create in public
// and planted what the engine's statements would prefer to pg_catalog's (format on text, quote_ident on
// name, unnest on text[]): none of it runs. verify-squatting.test.ts plants other signatures; these are
// the ones attack7-search-path.test.ts shows running in a rollback and a `no transaction` step.
import type { Client } from "pg";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { cli } from "../support/cli";
import { plant, PLANTED, plantedRan, plantingSession, resetPlanted } from "../support/planted";
import { grantStackPrivileges, schemaDatabase, type SchemaDatabase } from "../support/schema-db";

const PASSWORD = "attack7-cli-app-password";
let schema: SchemaDatabase;
let app: Client;

beforeAll(async () => {
    schema = await schemaDatabase("attack7_cli");
    await grantStackPrivileges(schema.client, schema.options);
    app = await plantingSession(schema.client, schema.db.config, schema.options.appRole, PASSWORD, false);
    await plant(app);
});

afterAll(async () => {
    await app?.end().catch(() => undefined);
    await schema?.drop();
});

beforeEach(async () => {
    await resetPlanted(schema.client);
});

describe(`${PLANTED} planted in public`, () => {
    it.each(["status", "plan", "verify", "apply", "apply --repair"])("are not run by `memory-stack %s`", async (command) => {
        const { appRole, adminRole } = schema.options;
        const args = command.split(" ");
        const run = await cli([...args, "--app-role", appRole, "--admin-role", adminRole], { DATABASE_URL: schema.db.url });
        expect(run.stderr).not.toMatch(/TypeError|ReferenceError/);
        expect(await plantedRan(schema.client)).toEqual([]);
    });
});
