// The memory-stack CLI as a pipeline runs it: a child process, exit codes, progress on stderr.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readLedger } from "../../engine/migrate/index";
import { migrationsFor } from "../support/apply-sql";
import { cli, run } from "../support/cli";
import { dropRoles, freshDatabase, sharedServer, type TestDatabase } from "../support/database";

const databases: TestDatabase[] = [];
const roleNames: string[] = [];

/** A fresh database, its URL, and role flags of its own (roles are shared by the whole server). */
async function target(prefix: string): Promise<{ db: TestDatabase; env: NodeJS.ProcessEnv; roles: string[] }> {
    const db = await freshDatabase(prefix);
    databases.push(db);
    roleNames.push(`${db.name}_app`, `${db.name}_admin`);
    return { db, env: { DATABASE_URL: db.url }, roles: ["--app-role", `${db.name}_app`, "--admin-role", `${db.name}_admin`] };
}

const migrationCount = migrationsFor().length;

afterAll(async () => {
    await Promise.all(databases.map((db) => db.drop()));
    await dropRoles(sharedServer(), roleNames);
});

describe("memory-stack usage", () => {
    it("prints its help through npx right after npm ci, exit 0", async () => {
        const result = await run("npx", ["--offline", "memory-stack", "--help"]);
        expect(result.code).toBe(0);
        expect(result.stdout).toContain("usage: memory-stack <plan|apply|status|rollback|verify>");
        expect(result.stdout).toContain("--allow-data-loss");
    });

    it("exits 2 with a usage line on bad usage, naming what was wrong", async () => {
        for (const [args, message] of [
            [["migrate", "--url", "postgresql://u:p@h/d"], 'unknown command "migrate"'],
            [
                ["apply", "--url", "postgresql://u:p@h/d", "--vector", "--dimensions", "4001"],
                "--dimensions 4001: must be an integer from 1 to 4000",
            ],
            [["apply", "--url", "postgresql://u:p@h/d", "--dimensions", "768"], "--dimensions needs --vector"],
            [["apply", "--vector", "--index", "flat", "--url", "postgresql://u:p@h/d"], '--index "flat": must be one of hnsw, ivfflat'],
            [["status"], "pass --url"],
            [["apply", "--url", "postgresql://u:p@h/d", "--allow-data-loss"], "--allow-data-loss only applies to rollback"],
            [["apply", "--frobnicate"], "--frobnicate"],
        ] as const) {
            const result = await cli([...args]);
            expect(result.code, args.join(" ")).toBe(2);
            expect(result.stderr).toContain(message);
            expect(result.stderr).toContain("usage: memory-stack");
        }
    });
});

describe("memory-stack usage errors under --json", () => {
    it("print one JSON document on stdout, exit 2, and the message on stderr", async () => {
        const result = await cli(["apply", "--json", "--index", "ivfflat", "--url", "postgresql://u:p@h/d"]);
        expect(result.code).toBe(2);
        expect(JSON.parse(result.stdout)).toMatchObject({
            ok: false,
            exitCode: 2,
            error: "--index needs --vector; add --vector or leave --index out",
        });
        expect(result.stderr).toContain("--index needs --vector");
    });
});

describe("memory-stack roles", () => {
    it("blames the flag that was given, and compares with the user the URL logs in as", async () => {
        const appAsAdmin = await cli(["apply", "--app-role", "memory_admin", "--url", "postgresql://u:p@h/d"]);
        expect(appAsAdmin.code).toBe(2);
        expect(appAsAdmin.stderr).toContain(
            '--app-role "memory_admin": must differ from --admin-role (memory_admin, its default); choose another name for one of them',
        );

        const owner = await cli(["apply", "--admin-role", "deployer", "--url", "postgresql://deployer:p@h/d"]);
        expect(owner.code).toBe(2);
        expect(owner.stderr).toContain('--admin-role "deployer": must differ from the owner user (deployer)');
    });

    // From attack24: `--app-role none` got as far as 0009_rls.sql ("role name "none" is reserved"), and pg_… or public
    // were refused by the preflight (exit 1) as "Choose another appRole", a key the CLI user never typed.
    it.each(["none", "public", "pg_app", "current_user"])(
        "refuses --app-role %s, a name PostgreSQL reserves, as bad usage",
        async (name) => {
            const result = await cli(["apply", "--app-role", name, "--url", "postgresql://u:p@h/d"]);
            expect(result.code).toBe(2);
            expect(result.stderr).toContain(`--app-role "${name}": is a name PostgreSQL reserves`);
            expect(result.stderr).toContain("choose a role name of your own");
        },
    );
});

describe("memory-stack verify on a database that never had the schema", () => {
    it("says what to do on its second line", async () => {
        const { env, roles } = await target("cli_never");
        const result = await cli(["verify", ...roles], env);
        expect(result.code).toBe(1);
        expect(result.stdout.split("\n")[1]).toMatch(/^What to do: the memory schema was never applied to this database/);
    });
});

describe("memory-stack against a database", () => {
    let db: TestDatabase;
    let env: NodeJS.ProcessEnv;
    let roles: string[];

    beforeAll(async () => {
        ({ db, env, roles } = await target("cli"));
    });

    it("plans, applies with one progress line per migration, then finds nothing to apply and reports up to date", async () => {
        const plan = await cli(["plan", "--json", ...roles], env);
        expect(plan.code).toBe(0);
        expect(JSON.parse(plan.stdout).pending).toHaveLength(migrationCount);

        const apply = await cli(["apply", ...roles], env);
        expect(apply.code).toBe(0);
        const progress = apply.stderr.split("\n").filter((line) => /^applied \d{4}_\w+\.sql in \d+ ms \(\d+\/\d+\)$/.test(line));
        expect(progress).toHaveLength(migrationCount);
        expect(apply.stdout).toMatch(
            new RegExp(`^applied ${migrationCount} migrations in \\d+ ms; the schema is at \\d{4}_\\w+\\.sql \\(jsonb\\)`),
        );

        const again = await cli(["apply", ...roles], env);
        expect(again.code).toBe(0);
        expect(again.stdout).toContain("nothing to apply");
        expect(again.stderr).not.toContain("applied 0");

        const status = await cli(["status", "--json", ...roles], env);
        expect(status.code).toBe(0);
        expect(JSON.parse(status.stdout)).toMatchObject({ ok: true, upToDate: true, pending: [], drift: [] });

        for (const output of [plan, apply, again, status]) {
            expect(output.stdout + output.stderr).not.toContain(db.server.password);
        }
        expect(apply.stderr).toContain(`memory-stack apply: ${db.server.user}@${db.server.host}:${db.server.port}/${db.name} (jsonb)`);
    });

    it("refuses a rollback while memory tables hold rows (exit 1), and rolls back with --allow-data-loss", async () => {
        const client = await db.connect();
        await client.query("insert into sessions (session_id, agent_name) values ('cli-1', 'sales')");

        const refused = await cli(["rollback", ...roles], env);
        expect(refused.code).toBe(1);
        expect(refused.stderr).toContain("1 row would be lost (sessions: 1)");
        expect((await client.query("select count(*)::int as n from sessions")).rows[0].n).toBe(1);

        const allowed = await cli(["rollback", "--allow-data-loss", ...roles], env);
        expect(allowed.code).toBe(0);
        expect(allowed.stdout).toContain("rows dropped: sessions 1");

        const status = await cli(["status", ...roles], env);
        expect(status.code).toBe(1);
        expect(status.stdout).toContain("pending  0001_foundation.sql");
        // From attack24: the list alone left a first run without its next step.
        expect(status.stdout.trimEnd().split("\n").at(-1)).toBe(
            "What to do: run `memory-stack apply` (or `pulumi up`) to apply what is pending; `memory-stack plan` says first whether it can",
        );
    });
});

describe("memory-stack apply started twice at once", () => {
    it("applies each migration once and both runs exit 0", async () => {
        const { db, env, roles } = await target("cli_concurrent");
        const [a, b] = await Promise.all([cli(["apply", ...roles], env), cli(["apply", ...roles], env)]);

        expect([a.code, b.code]).toEqual([0, 0]);
        const progressLines = (a.stderr + b.stderr).split("\n").filter((line) => line.startsWith("applied 0"));
        expect(progressLines).toHaveLength(migrationCount);
        const client = await db.connect();
        const ledger = await readLedger(client);
        expect(new Set(ledger.map((row) => row.name)).size).toBe(migrationCount);
        expect(ledger).toHaveLength(migrationCount);
    });
});

describe("memory-stack apply on a database it cannot migrate", () => {
    it("exits 1 with the preflight's conflict, before any change, and leaves no trace in the database", async () => {
        const { db, env, roles } = await target("cli_failure");
        const client = await db.connect();
        await client.query("create table users (id integer primary key, email text)");

        const result = await cli(["apply", ...roles], env);

        expect(result.code).toBe(1);
        expect(result.stderr).toContain("refusing to apply the memory schema: 1 conflict found before any change; nothing was changed.");
        expect(result.stderr).toContain("- table public.users: users.id is integer, and the memory tables need a uuid users.id.");
        expect(
            (
                await client.query(
                    "select to_regclass('memory_stack.migrations') is null as clean, to_regclass('memory_stack.owned_objects') is null as unowned",
                )
            ).rows[0],
        ).toEqual({ clean: true, unowned: true });
    });
});
