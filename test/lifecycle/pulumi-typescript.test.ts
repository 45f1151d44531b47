// The program as the Pulumi CLI's nodejs language host runs it, from what Pulumi.yaml says (its main
// and runtime options), under mocks instead of an engine: compiled JavaScript, no TypeScript compiled at
// start, the whole dev stack registered.
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { load } from "js-yaml";
import { expect, it } from "vitest";
import { REPO, stackConfig } from "../support/stack-files";

it("starts from compiled JavaScript and registers the whole dev stack, as Pulumi runs it", async () => {
    const config = Object.fromEntries(Object.entries(stackConfig("dev")).map(([key, value]) => [`memory-stack:${key}`, value]));
    const { stdout } = await promisify(execFile)(
        process.execPath,
        [join(REPO, "test", "support", "run-like-pulumi.js"), "dev", JSON.stringify(config)],
        { cwd: REPO, timeout: 90_000 },
    );
    const run = JSON.parse(stdout.trim().split("\n").pop()!);
    const project = load(readFileSync(join(REPO, "Pulumi.yaml"), "utf8")) as { main: string };
    expect(run.entry).toBe(project.main);
    expect(run.compiledAtStart).toBe(false);
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
