// The serialized stubs load memory-stack/providers by package name (components/provider-loader.ts).
// Proven the way it matters: Pulumi's provider host started where this repository is not the working
// directory, and in a project that installs memory-stack from its packed tarball — as a program
// consuming the package from npm, or an Automation API program, would run it.
import { execFile } from "node:child_process";
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readLedger } from "../../engine/migrate/index";
import { Lifecycle, memoryProgram, startLifecycle, type ProgramResource } from "../support/lifecycle";
import { remainingMemoryObjects } from "../support/memory-objects";
import { REPO } from "../support/stack-files";
import { schemaDatabase, type SchemaDatabase } from "../support/schema-db";

const run = promisify(execFile);
const scratch = mkdtempSync(join(tmpdir(), "memory-stack-loader-"));

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** up (create), then destroy, of the schema resource alone; returns the ledger the up left. */
async function upThenDestroy(life: Lifecycle, schema: SchemaDatabase, resource: ProgramResource): Promise<string[]> {
    await life.up([resource]);
    const ledger = (await readLedger(schema.client)).map((row) => row.name);
    await life.destroy();
    expect(await remainingMemoryObjects(schema.client, schema.options)).toEqual([]);
    return ledger;
}

describe("the provider host started outside this repository's directory", () => {
    let schema: SchemaDatabase;
    let life: Lifecycle;
    beforeAll(async () => {
        const elsewhere = mkdtempSync(join(scratch, "elsewhere-"));
        [schema, life] = await Promise.all([schemaDatabase("loader_elsewhere", {}, false), startLifecycle({ cwd: elsewhere })]);
    });
    afterAll(async () => {
        await life?.host.stop();
        await schema?.drop();
    });

    it("finds memory-stack/providers from the host's own location, applies and rolls back", async () => {
        const [resource] = await memoryProgram({ connection: schema.db.settings, schema: schema.options });
        expect(await upThenDestroy(life, schema, resource)).toContain("0001_foundation.sql");
    });
});

// What a project that installs the package runs under Pulumi's mocks: the SchemaMigration the package
// exports, registered with its own @pulumi/pulumi; prints the inputs the engine would store, __provider included.
const REGISTER = `
const pulumi = require("@pulumi/pulumi");
const [connection, schema] = JSON.parse(process.argv[2]);
let seen;
pulumi.runtime.setMocks({
    newResource(args) { seen = args.inputs; return { id: args.name + "-id", state: args.inputs }; },
    call() { throw new Error("unexpected call"); },
}, "consumer", "dev", false);
const { SchemaMigration } = require("memory-stack");
const resource = new SchemaMigration("memory-schema", { connection: pulumi.secret(connection), schema });
resource.urn.apply(() => setImmediate(() => console.log(JSON.stringify(seen))));
`;

describe("a project that installs memory-stack from its packed tarball", () => {
    let schema: SchemaDatabase;
    let life: Lifecycle;
    let consumer: string;
    beforeAll(async () => {
        consumer = mkdtempSync(join(scratch, "consumer-"));
        // dist/ is built by this test run already (vitest.config.ts); pack it as npm publish would.
        const { stdout } = await run("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", consumer], { cwd: REPO });
        const [{ filename }] = JSON.parse(stdout) as { filename: string }[];
        writeFileSync(join(consumer, "package.json"), JSON.stringify({ name: "consumer", private: true }));
        await run("npm", ["install", join(consumer, filename), "--prefer-offline", "--no-audit", "--no-fund", "--ignore-scripts"], {
            cwd: consumer,
        });
        // So the test can tell which copy the host ran: the installed one says where it was loaded from.
        appendFileSync(
            join(consumer, "node_modules", "memory-stack", "dist", "engine", "providers", "index.js"),
            '\nprocess.stderr.write("memory-stack/providers loaded from " + __dirname + "\\n");\n',
        );
        [schema, life] = await Promise.all([
            schemaDatabase("loader_consumer", {}, false),
            startLifecycle({ cwd: consumer, project: consumer }),
        ]);
    }, 240_000);
    afterAll(async () => {
        await life?.host.stop();
        await schema?.drop();
    });

    it("serializes a stub that names no path of this repository", async () => {
        writeFileSync(join(consumer, "register.js"), REGISTER);
        const { stdout } = await run(process.execPath, ["register.js", JSON.stringify([schema.db.settings, schema.options])], {
            cwd: consumer,
        });
        const inputs = JSON.parse(stdout) as Record<string, unknown>;
        expect(inputs.__provider).toContain("memory-stack/providers");
        expect(inputs.__provider).not.toContain(REPO);
    });

    it("applies and rolls back through the installed package's providers and the consumer's own host", async () => {
        const { stdout } = await run(process.execPath, ["register.js", JSON.stringify([schema.db.settings, schema.options])], {
            cwd: consumer,
        });
        const resource: ProgramResource = {
            name: "memory-schema",
            type: "pulumi-nodejs:dynamic/memory-stack:SchemaMigration",
            inputs: JSON.parse(stdout),
            additionalSecretOutputs: ["connection"],
        };
        expect(await upThenDestroy(life, schema, resource)).toContain("0001_foundation.sql");
        expect(life.host.stderr()).toContain(
            `memory-stack/providers loaded from ${join(consumer, "node_modules", "memory-stack", "dist", "engine", "providers")}`,
        );
    });
});
