// The deploy guard's stub is serialized into state, and runs whatever memory-stack is installed. An older release (one
// without the guard) running `pulumi up` or `destroy` on a stack an up of this one wrote deletes the guard, and its
// package has no deployGuard: the delete, which has nothing to undo, failed the run with a TypeError.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DEFAULT_SCHEMA_OPTIONS } from "../../engine/config/schema-options";
import { GUARD_ID } from "../../engine/providers/deploy-guard";
import { startProviderHost, urnFor } from "../support/provider-host";
import { registerDeployGuard } from "../support/schema-provider";

const older = mkdtempSync(join(tmpdir(), "memory-stack-older-"));
afterAll(() => rmSync(older, { recursive: true, force: true }));

describe("the deploy guard in state, under an older memory-stack without it", () => {
    it("is deleted without a word", async () => {
        const installed = join(older, "node_modules", "memory-stack");
        mkdirSync(installed, { recursive: true });
        writeFileSync(
            join(installed, "package.json"),
            JSON.stringify({ name: "memory-stack", exports: { "./providers": "./providers.js" } }),
        );
        writeFileSync(join(installed, "providers.js"), "exports.schemaMigration = {};\nexports.verification = {};\n");
        const connection = { host: "localhost", port: 1, user: "postgres", password: "older-pass-123", database: "ybryx" };
        const guard = await registerDeployGuard("memory-guard-older", { connection, schema: DEFAULT_SCHEMA_OPTIONS });
        const host = await startProviderHost({ cwd: older });
        try {
            await host.configure();

            const deleted = host.delete(GUARD_ID, urnFor(guard.type, "memory-guard"), { ...guard.inputs, __provider: guard.providerText });

            await expect(deleted).resolves.toBeUndefined();
        } finally {
            await host.stop();
        }
    });
});
