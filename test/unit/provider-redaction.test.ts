// The providers' edge: what a provider method throws reaches Pulumi with every password in its
// arguments masked, and with URL credentials masked whatever the password.
import { describe, expect, it } from "vitest";
import { schemaMigration, verification } from "../../engine/providers/index";
import { redactingErrors } from "../../engine/providers/redacting";

const MARKER = "Mk7secretpw";

describe("the providers' errors", () => {
    it("mask the password of the connection they were given, sync or async", async () => {
        const provider = redactingErrors({
            async create(inputs: { connection: { password: string } }) {
                throw new Error(`server said: role with password ${inputs.connection.password} is locked`);
            },
            diff(_id: string, olds: { connection: { password: string } }) {
                throw new Error(`bad state ${JSON.stringify(olds)}`);
            },
            STATE_VERSION: 3,
        });
        const connection = { password: `p"q${MARKER}` };
        await expect(provider.create({ connection })).rejects.toThrow("server said: role with password *** is locked");
        expect(() => provider.diff("id", { connection })).toThrow(/^bad state \{"connection":\{"password":"\*\*\*"\}\}$/);
        expect(provider.STATE_VERSION).toBe(3);
    });

    it("mask URL credentials they were not told about", async () => {
        const provider = redactingErrors({
            remove: async () => {
                throw new Error(`cannot reach postgresql://app:x@${MARKER}@db/x`);
            },
        });
        await expect(provider.remove()).rejects.toThrow("cannot reach postgresql://app:***@db/x");
    });

    it("guard what memory-stack/providers exports", async () => {
        // A login name equal to the password puts the password into the engine's own message.
        const connection = { host: "127.0.0.1", port: 1, user: `user${MARKER}`, password: `user${MARKER}`, database: "d" };
        const refresh = schemaMigration.read("id", { connection, stateVersion: 4 });
        await expect(refresh).rejects.toThrow(/cannot connect to \*\*\*@127\.0\.0\.1:1\/d to refresh/);
        const verify = verification.create({ connection, expected: {} as never, schemaChecksum: "", readinessTimeoutMs: 1 });
        await expect(verify).rejects.not.toThrow(MARKER);
    });
});
