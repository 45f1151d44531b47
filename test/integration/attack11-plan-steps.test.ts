// `memory-stack plan` against a database whose stepped migration (the switch to vector) is partly applied from
// another text: a killed switch, then a memory-stack release whose 0015_vector_expand.sql differs. docs/cli.md:
// plan "lists the migrations an apply would run; exit 1 when the database drifted (apply would refuse)". apply
// and status read the step ledger and name that drift; plan read only memory_stack.migrations, listed 0015 as
// simply pending and said nothing of why apply refuses. On a server with pgvector (no other conflict) plan
// exited 0: a CI gate that runs plan before apply passed, and the apply failed.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ENSURE_STEP_LEDGER } from "../../engine/migrate/step-ledger";
import { cli } from "../support/cli";
import { dropRoles, freshDatabase, sharedServer, type TestDatabase } from "../support/database";

let db: TestDatabase;
let env: NodeJS.ProcessEnv;
let roles: string[];

beforeAll(async () => {
    db = await freshDatabase("attack11_plan_steps");
    env = { DATABASE_URL: db.url };
    roles = ["--app-role", `${db.name}_app`, "--admin-role", `${db.name}_admin`];
    expect((await cli(["apply", ...roles], env)).code).toBe(0);
    const client = await db.connect();
    await client.query(ENSURE_STEP_LEDGER);
    // What a killed switch of another release leaves: its expand step done, under a checksum this release does not render.
    await client.query(
        `insert into memory_stack.migration_steps (migration, step, checksum, variant, finished_at)
         values ('0015_vector_expand.sql', 'expand', 'checksum-of-another-release', 'vector(1536,hnsw)', now())`,
    );
});

afterAll(async () => {
    await db?.drop();
    await dropRoles(sharedServer(), [`${db.name}_app`, `${db.name}_admin`]);
});

describe("plan on a switch partly applied from another text", () => {
    it("names the drift that apply refuses on, as status does", async () => {
        const status = await cli(["status", "--json"], env);
        expect(status.code).toBe(1);
        const statusDrift = JSON.parse(status.stdout).drift as { kind: string; name: string }[];
        expect(statusDrift).toMatchObject([{ kind: "partial", name: "0015_vector_expand.sql" }]);

        const apply = await cli(["apply", "--vector"], env);
        expect(apply.code).toBe(1);
        expect(apply.stderr).toContain("0015_vector_expand.sql is partly applied");

        const plan = await cli(["plan", "--json"], env);
        expect(plan.code).toBe(1);
        expect(JSON.parse(plan.stdout).drift).toEqual(statusDrift);
        const text = await cli(["plan"], env);
        expect(text.stdout).toContain("0015_vector_expand.sql is partly applied");
    });
});
