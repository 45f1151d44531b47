// An up that changed the owner's password failed after the guard had passed it (the guard's state took the new
// password) and before the server took it (the container's replacement never ran). The next up's guard tried the
// password in its state and the new one, neither of which the server had: it could not check, and under
// `--skip-preview` the replaced container took the new password and the postgresql provider renamed the live role
// before the schema resource refused. The guard keeps the connection its last read went through, and tries it too.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { memoryProgram, outputsHolding, startLifecycle, type Lifecycle } from "../support/lifecycle";
import { schemaDatabase, type SchemaDatabase } from "../support/schema-db";

const IMAGE = "postgres:15-alpine";
const NEW_PASSWORD = "never-taken-by-the-server-1";

let schema: SchemaDatabase;
let life: Lifecycle;

const program = (password: string, appRole = schema.options.appRole) =>
    memoryProgram({
        connection: { ...schema.db.settings, password },
        schema: { ...schema.options, appRole },
        guard: { serverImage: IMAGE },
    });

beforeAll(async () => {
    [schema, life] = await Promise.all([schemaDatabase("attack37_failed_up", {}, false), startLifecycle()]);
    await life.up(await program(schema.db.settings.password));
});

afterAll(async () => {
    await life?.host.stop();
    await schema?.drop();
});

describe("the guard after an up that failed before the server took a new password", () => {
    it("reads the server with the password it last reached it with, and refuses", async () => {
        // The guard passes the new password; the step that would give it to the server fails (here: the schema's).
        const [guard] = await program(NEW_PASSWORD);
        await life.up([guard]);

        await expect(life.up(await program(NEW_PASSWORD, `${schema.options.appRole}_v2`))).rejects.toThrow(
            `memory-stack:appRole asks for appRole "${schema.options.appRole}_v2", but the database's migration ledger records appRole "${schema.options.appRole}"; nothing was done.`,
        );
        const state = life.state.get("memory-guard")!;
        expect(outputsHolding(state.outputs, schema.db.settings.password).filter((key) => !state.secretOutputs.includes(key))).toEqual([]);
    });
});
