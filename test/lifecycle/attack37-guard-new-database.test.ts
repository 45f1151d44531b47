// A docker stack whose schema was never applied (its first up failed at the schema, say) took another `database`
// without a word: neither the schema resource's Diff (nothing deployed in its state) nor the guard (no ledger) refused,
// the server's container was replaced with the new POSTGRES_DB, which the image creates only in an empty volume, and
// every connection after it failed on a database that does not exist. The guard reads the volume's databases.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { memoryProgram, startLifecycle, type Lifecycle } from "../support/lifecycle";
import { schemaDatabase, type SchemaDatabase } from "../support/schema-db";

const IMAGE = "postgres:15-alpine";

let schema: SchemaDatabase;
let life: Lifecycle;

const guardOf = async (database: string) =>
    (await memoryProgram({ connection: { ...schema.db.settings, database }, schema: schema.options, guard: { serverImage: IMAGE } })).slice(
        0,
        1,
    );

beforeAll(async () => {
    [schema, life] = await Promise.all([schemaDatabase("attack37_new_db", {}, false), startLifecycle()]);
    await life.up(await guardOf(schema.db.name));
});

afterAll(async () => {
    await life?.host.stop();
    await schema?.drop();
});

describe("another database on a docker volume the schema was never applied to", () => {
    it("is refused by the guard when the volume does not hold it", async () => {
        const other = `${schema.db.name}_v2`;

        await expect(life.up(await guardOf(other))).rejects.toThrow(
            `memory-stack:database asks for database "${other}", but the server's data volume holds no such database (the server); nothing was done.`,
        );
    });

    it("passes when the volume holds it", async () => {
        await expect(life.up(await guardOf("postgres"))).resolves.toEqual({ "memory-guard": "update" });
    });
});
