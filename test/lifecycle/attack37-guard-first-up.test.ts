// The first up since the deploy guard exists creates it on a stack whose server already runs. Its create read only the
// ledger's options: the data volume's owner and C library, which its update reads, went unread, so that one up under
// `--skip-preview` replaced the server's container for a refused image (vector: true on an Alpine volume, whose
// replacement never starts) before the schema resource's Diff said no. The create reads them too where the server
// answers. This test's server sorts with the C locale, which either library reads alike, so it shows the owner.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { memoryProgram, startLifecycle, type Lifecycle } from "../support/lifecycle";
import { schemaDatabase, type SchemaDatabase } from "../support/schema-db";
import { dropRoles, freshDatabase } from "../support/database";

const IMAGE = "postgres:15-alpine";

let schema: SchemaDatabase;
let life: Lifecycle;
let other: string;
const password = randomBytes(12).toString("hex");

beforeAll(async () => {
    [schema, life] = await Promise.all([schemaDatabase("attack37_first_up", {}, false), startLifecycle()]);
    other = `${schema.db.name}_owner`;
    await schema.client.query(`create role "${other}" login superuser password '${password}'`);
    // Deployed by a release without the guard.
    await life.up(await memoryProgram({ connection: schema.db.settings, schema: schema.options }));
});

afterAll(async () => {
    await life?.host.stop();
    await schema?.drop();
    await dropRoles(schema.db.server, [other]);
});

describe("the guard's create on a stack deployed before it", () => {
    it("refuses another owner than the one the server was initialised with, read from the server", async () => {
        const calls = life.calls.length;

        const up = life.up(
            await memoryProgram({
                connection: { ...schema.db.settings, user: other, password },
                schema: schema.options,
                guard: { serverImage: IMAGE },
            }),
        );

        await expect(up).rejects.toThrow(
            `memory-stack:user asks for owner "${other}", but the server's data volume was initialised with owner "${schema.db.settings.user}" (the server); nothing was done.`,
        );
        expect(life.calls.slice(calls).map((call) => `${call.method} ${call.name}`)).toEqual(["check memory-guard", "create memory-guard"]);
    });

    it("does not take a server the memory schema was never deployed to (one already on the port) for the stack's volume", async () => {
        const foreign = await freshDatabase("attack37_foreign");
        const alone = await startLifecycle();
        try {
            const [guard] = await memoryProgram({
                connection: { ...foreign.settings, user: other, password },
                schema: schema.options,
                guard: { serverImage: IMAGE },
            });

            await expect(alone.up([guard])).resolves.toEqual({ "memory-guard": "create" });
        } finally {
            await alone.host.stop();
            await foreign.drop();
        }
    });
});
