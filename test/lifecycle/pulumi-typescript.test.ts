// index.ts compiled and run the way the Pulumi CLI's nodejs language host runs a TypeScript program
// (ts-node with the project's tsconfig and type checking), under mocks instead of an engine.
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import typescript from "typescript";
import { expect, it } from "vitest";
import { REPO, stackConfig } from "../support/stack-files";

it("compiles and registers the whole dev stack through Pulumi's own TypeScript loader", async () => {
    const config = Object.fromEntries(Object.entries(stackConfig("dev")).map(([key, value]) => [`memory-stack:${key}`, value]));
    const { stdout } = await promisify(execFile)(
        process.execPath,
        [join(REPO, "test", "support", "run-like-pulumi.js"), "dev", JSON.stringify(config)],
        { cwd: REPO, timeout: 90_000 },
    );
    const run = JSON.parse(stdout.trim().split("\n").pop()!);
    expect(run.typescript).toBe(typescript.version);
    expect(run.registered).toEqual(
        expect.arrayContaining([
            "memory-stack:index:MemoryStack",
            "docker:index/container:Container",
            "memory-stack:index:Pooler",
            "postgresql:index/role:Role",
            "pulumi-nodejs:dynamic/memory-stack:SchemaMigration",
            "pulumi-nodejs:dynamic/memory-stack:Verification",
        ]),
    );
}, 120_000);
