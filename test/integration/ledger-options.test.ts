// The ledger's options are the default: once a database is migrated, every command works with no
// schema flag at all, a flag that repeats the ledger is accepted, one that contradicts it is refused
// naming both values, and turning vector on is the one explicit change apply (and plan) accept.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli } from "../support/cli";
import { dropRoles, freshDatabase, sharedServer, type TestDatabase } from "../support/database";
import { startPgliteServer, type PgliteServer } from "../support/pglite-server";

describe("a vector database without row level security (PGlite with pgvector)", () => {
    let server: PgliteServer;
    let env: NodeJS.ProcessEnv;

    beforeAll(async () => {
        server = await startPgliteServer();
        env = { DATABASE_URL: `postgresql://${server.user}:${server.password}@${server.host}:${server.port}/${server.database}` };
        const apply = await cli(["apply", "--vector", "--dimensions", "3", "--index", "ivfflat", "--no-rls"], env);
        expect(apply.code, apply.stderr).toBe(0);
        expect(apply.stdout).toContain("(vector(3,ivfflat))");
    });
    afterAll(async () => server?.stop());

    it("answers plan, status, verify and a repeated apply with no flag, in its own variant", async () => {
        const plan = await cli(["plan"], env);
        expect(plan.code, plan.stderr + plan.stdout).toBe(0);
        expect(plan.stdout).toContain("nothing to apply");
        expect(plan.stderr).toContain("(vector(3,ivfflat))");

        const status = await cli(["status"], env);
        expect(status.code, status.stdout).toBe(0);
        expect(status.stdout).toMatch(/^up to date at 0018_similarity_jsonb_edges\.sql \(vector\(3,ivfflat\)\)/);

        const verify = await cli(["verify"], env);
        expect(verify.code, verify.stdout).toBe(0);

        const again = await cli(["apply"], env);
        expect(again.code, again.stderr).toBe(0);
        expect(again.stdout).toContain("nothing to apply; the schema is at 0018_similarity_jsonb_edges.sql (vector(3,ivfflat))");
    });

    it("accepts a flag that repeats the ledger and refuses one that contradicts it, naming both values", async () => {
        expect((await cli(["status", "--vector", "--no-rls", "--dimensions", "3"], env)).code).toBe(0);

        for (const [args, message] of [
            [
                ["status", "--vector", "--dimensions", "4"],
                "--dimensions asks for vectorDimensions 4, but the database's ledger records vectorDimensions 3; nothing was done.",
            ],
            [
                ["verify", "--vector", "--index", "hnsw"],
                `--index asks for vectorIndex "hnsw", but the database's ledger records vectorIndex "ivfflat"; nothing was done.`,
            ],
            [
                ["apply", "--vector", "--dimensions", "8"],
                "--dimensions asks for vectorDimensions 8, but the database's ledger records vectorDimensions 3",
            ],
        ] as const) {
            const run = await cli([...args], env);
            expect(run.code, args.join(" ")).toBe(1);
            expect(run.stderr).toContain(message);
        }
    });

    it("rolls back with no flag", async () => {
        const rollback = await cli(["rollback"], env);
        expect(rollback.code, rollback.stderr).toBe(0);
        expect((await cli(["status"], env)).stdout).toContain("pending  0001_foundation.sql");
    });
});

describe("a jsonb database with row level security and roles of its own", () => {
    let db: TestDatabase;
    let env: NodeJS.ProcessEnv;
    let roles: string[];

    beforeAll(async () => {
        db = await freshDatabase("ledger_options");
        roles = [`${db.name}_reader`, `${db.name}_auditor`];
        env = { DATABASE_URL: db.url };
        const apply = await cli(["apply", "--app-role", roles[0], "--admin-role", roles[1]], env);
        expect(apply.code, apply.stderr).toBe(0);
    });
    afterAll(async () => {
        await db?.drop();
        await dropRoles(sharedServer(), roles);
    });

    it("answers every command with no flag, with the roles the ledger records", async () => {
        for (const command of ["plan", "status", "verify", "apply"]) {
            const run = await cli([command], env);
            expect(run.code, `${command}: ${run.stderr}${run.stdout}`).toBe(0);
        }
        const record = await (await db.connect()).query("select options from memory_stack.migrations where name = '0009_rls.sql'");
        expect(record.rows[0].options).toMatchObject({ rls: true, appRole: roles[0], adminRole: roles[1], vector: false });
    });

    it("refuses --no-rls and another role, naming both values", async () => {
        const noRls = await cli(["apply", "--no-rls"], env);
        expect(noRls.code).toBe(1);
        expect(noRls.stderr).toContain("--no-rls asks for rls false, but the database's ledger records rls true; nothing was done.");
        const role = await cli(["status", "--app-role", "someone_else"], env);
        expect(role.code).toBe(1);
        expect(role.stderr).toContain(
            `--app-role asks for appRole "someone_else", but the database's ledger records appRole "${roles[0]}"`,
        );
    });

    it("plans the switch to vector only when asked, and refuses it where nothing would switch", async () => {
        const plan = await cli(["plan", "--vector", "--dimensions", "3"], env);
        expect(plan.code, plan.stdout).toBe(1);
        expect(plan.stdout).toContain("3 to apply:\n  0015_vector_expand.sql");
        expect(plan.stdout).toContain("- extension vector: is not available on this server.");
        const status = await cli(["status", "--vector"], env);
        expect(status.code).toBe(1);
        expect(status.stderr).toContain(
            "--vector asks for vector true, but the database's ledger records vector false; nothing was done. Only apply (and plan) switch",
        );
    });
});
