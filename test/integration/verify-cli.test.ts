// `memory-stack verify` as a pipeline runs it: a child process through bin/, exit 0 with a one-line
// summary on a good schema, exit 1 with the same report `pulumi up` fails with on a broken one.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyMigrations, describeVariant } from "../../engine/migrate/index";
import { migrationsFor } from "../support/apply-sql";
import { cli, type Run } from "../support/cli";
import { schemaDatabase, type SchemaDatabase } from "../support/schema-db";

function verify(schema: SchemaDatabase, ...flags: string[]): Promise<Run> {
    const roles = ["--app-role", schema.options.appRole, "--admin-role", schema.options.adminRole];
    return cli(["verify", ...roles, ...flags], { DATABASE_URL: schema.db.url });
}

let schema: SchemaDatabase;

beforeAll(async () => {
    schema = await schemaDatabase("verify_cli", {}, false);
    await applyMigrations(schema.client, migrationsFor(schema.options), { variant: describeVariant(schema.options) });
});

afterAll(async () => {
    await schema?.drop();
});

describe("memory-stack verify", () => {
    it("exits 0 with the counts on a freshly applied schema, and never prints the password", async () => {
        const result = await verify(schema);

        expect(result.stderr).not.toContain(schema.db.server.password);
        expect(result.stdout).toContain(
            "memory schema verified (jsonb): 7 tables, 3 views, 4 seed functions (+9 more), 4 seed triggers (+2 more), 49 indexes",
        );
        expect(result.code).toBe(0);
    });

    it("exits 1 naming each broken object, in text and in --json", async () => {
        await schema.client.query(
            "drop trigger update_belief_graphs_updated_at on belief_graphs; alter table audit_logs disable row level security",
        );

        const text = await verify(schema);
        const json = await verify(schema, "--json");

        expect(text.code).toBe(1);
        expect(text.stdout).toContain("  - trigger belief_graphs.update_belief_graphs_updated_at: missing");
        expect(text.stdout).toContain("  - rls audit_logs: row level security is disabled");
        expect(json.code).toBe(1);
        const parsed = JSON.parse(json.stdout);
        expect(parsed).toMatchObject({ ok: false, command: "verify", variant: "jsonb" });
        expect(parsed.problems).toEqual(
            expect.arrayContaining([
                { kind: "trigger", name: "belief_graphs.update_belief_graphs_updated_at", issue: "missing" },
                expect.objectContaining({ kind: "rls", name: "audit_logs" }),
            ]),
        );
    });
});
