// `pulumi up --skip-preview` runs no Diff ahead of the steps: the engine takes each resource's step once the resources
// it depends on are done. So the schema resource's refusal of a renamed role (its Diff) came only after the postgresql
// provider had run ALTER ROLE … RENAME, and a refused image, owner or database only after the server's container had
// been replaced. Every resource that changes the server depends on the deploy guard, whose update refuses the same
// changes first (test/lifecycle/attack33-skip-preview.test.ts); the guard itself waits for nothing.
import type * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { installMocks, resolve, runStack, type Registered } from "../support/program";

const GUARD = "pulumi-nodejs:dynamic/memory-stack:DeployGuard";
const SERVER_CHANGING = [
    "docker:index/container:Container",
    "pulumi:providers:postgresql",
    "postgresql:index/role:Role",
    "postgresql:index/grantRole:GrantRole",
    "postgresql:index/database:Database",
    "pulumi-nodejs:dynamic/memory-stack:SchemaMigration",
];

beforeAll(() => {
    installMocks("dev");
});

/**
 * The resources `resource` is registered after: its dependsOn, its provider and its parent (a child waits for its parent's
 * registration, which waits for the parent's dependsOn), and theirs, transitively.
 */
async function waitsFor(resource: Registered, all: Registered[]): Promise<Set<pulumi.Resource>> {
    const byResource = new Map(all.map((entry) => [entry.resource, entry]));
    const seen = new Set<pulumi.Resource>();
    const pending = [resource];
    while (pending.length > 0) {
        const { opts } = pending.pop()!;
        const dependsOn = [await resolve(opts.dependsOn ?? [])].flat() as pulumi.Resource[];
        for (const next of [...dependsOn, opts.provider, opts.parent]) {
            if (next !== undefined && !seen.has(next)) {
                seen.add(next);
                const entry = byResource.get(next);
                if (entry) pending.push(entry);
            }
        }
    }
    return seen;
}

describe("the deploy guard", () => {
    it.each([
        ["docker", {}],
        [
            "external",
            {
                provisioner: "external",
                databaseUrl: "postgresql://owner:secret-password@db.example.com:5432/app?sslmode=require",
                createDatabase: "true",
                pooling: undefined,
            },
        ],
    ] as const)("comes before every resource that changes the %s server", async (_, raw) => {
        const run = await runStack(raw as Record<string, string>, `memory-stack-guard-${_}`);
        const guard = run.find(GUARD);
        const changing = run.registered.filter((entry) => SERVER_CHANGING.includes(entry.type));

        expect(changing.map((entry) => entry.type)).toEqual(
            expect.arrayContaining(["pulumi:providers:postgresql", "postgresql:index/role:Role"]),
        );
        for (const entry of changing) {
            expect((await waitsFor(entry, run.registered)).has(guard.resource!), `${entry.type} ${entry.name}`).toBe(true);
        }
        expect(guard.opts.dependsOn ?? []).toEqual([]);
    });
});
