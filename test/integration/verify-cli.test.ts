// `memory-stack verify` as a pipeline runs it: a child process through bin/, on a schema that
// `memory-stack apply` applied (and granted); exit 0 with a one-line summary on a good schema, exit
// 1 with the same report `pulumi up` fails with on a broken one, or on roles that lack their grants.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, type Run } from "../support/cli";
import { schemaDatabase, type SchemaDatabase } from "../support/schema-db";

function command(name: string, schema: SchemaDatabase, ...flags: string[]): Promise<Run> {
    const roles = ["--app-role", schema.options.appRole, "--admin-role", schema.options.adminRole];
    return cli([name, ...roles, ...flags], { DATABASE_URL: schema.db.url });
}
const verify = (schema: SchemaDatabase, ...flags: string[]) => command("verify", schema, ...flags);

let schema: SchemaDatabase;

beforeAll(async () => {
    schema = await schemaDatabase("verify_cli", {}, false);
    const applied = await command("apply", schema);
    expect(applied.code, applied.stderr).toBe(0);
});

afterAll(async () => {
    await schema?.drop();
});

describe("memory-stack verify", () => {
    it("exits 0 with the counts on a schema the CLI applied, and never prints the password", async () => {
        const result = await verify(schema);

        expect(result.stderr).not.toContain(schema.db.server.password);
        expect(result.stdout).toContain(
            "memory schema verified (jsonb): 7 tables, 3 views, 4 seed functions (+12 more), 4 seed triggers (+2 more), 49 indexes",
        );
        expect(result.code).toBe(0);
    });

    it("exits 1 when the roles lack their grants, naming each missing grant and saying plainly they cannot use the schema", async () => {
        const { appRole, adminRole } = schema.options;
        await schema.client.query(
            `revoke select on sessions from "${appRole}"; revoke execute on function forget_user(uuid) from "${adminRole}"`,
        );
        try {
            const result = await verify(schema);

            expect(result.code).toBe(1);
            expect(result.stdout).toContain(
                `  - privilege ${appRole}: cannot use the memory schema yet: it lacks 1 grant(s); run grant select on table`,
            );
            expect(result.stdout).toContain(`  - privilege ${adminRole}: cannot use the memory schema yet`);
            expect(result.stdout).toContain(`"public"."forget_user" to "${adminRole}"`);
            expect(result.stdout).toContain("the roles listed cannot use it");
        } finally {
            const again = await command("apply", schema);
            expect(again.code, again.stderr).toBe(0);
        }
        expect((await verify(schema)).code).toBe(0);
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
