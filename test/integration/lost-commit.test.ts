// The truth after a lost connection: through a proxy that cuts the connection at a COMMIT, each
// migration's COMMIT in turn is cut before it reaches the server and then after (the server commits,
// the reply is lost); the rollback's COMMIT too. Every time, what `memory-stack` says happened is what
// the ledger, read on a connection of the test's own, holds; and the next run carries on.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readLedger } from "../../engine/migrate/index";
import { splitStatements } from "../../engine/migrate/statements";
import { declaredSteps } from "../../engine/migrate/steps";
import { migrationsFor } from "../support/apply-sql";
import { cli } from "../support/cli";
import { startCommitCuttingProxy, type CommitCuttingProxy } from "../support/commit-cutting-proxy";
import { dropRoles, freshDatabase, sharedServer, withClient, type TestDatabase } from "../support/database";

let db: TestDatabase;
let proxy: CommitCuttingProxy;
let env: NodeJS.ProcessEnv;
let roles: string[];

beforeAll(async () => {
    db = await freshDatabase("lost_commit");
    proxy = await startCommitCuttingProxy(db.server);
    roles = [`${db.name}_app`, `${db.name}_admin`];
    const url = `postgresql://${db.server.user}:${encodeURIComponent(db.server.password)}@${proxy.host}:${proxy.port}/${db.name}`;
    env = { DATABASE_URL: url };
});

afterAll(async () => {
    await proxy?.close();
    await db?.drop();
    await dropRoles(sharedServer(), roles);
});

const flags = () => ["--app-role", roles[0], "--admin-role", roles[1]];
const ledgerNames = async () => (await withClient(db.config, readLedger)).map((row) => row.name);

describe("a connection lost at a migration's COMMIT", () => {
    it("is reported as the ledger has it, for each migration in turn, cut before and after the COMMIT reaches the server", async () => {
        const program = migrationsFor({ appRole: roles[0], adminRole: roles[1] });
        const migrations = program.map((m) => m.name);
        let stepCuts = 0;
        for (const [index, migration] of program.entries()) {
            const name = migration.name;
            // A migration in steps commits each step on its own: the cut comes at its first step's COMMIT.
            const stepped = declaredSteps(name, migration.sql, await splitStatements(migration.sql)) !== undefined;
            for (const mode of ["before", "after"] as const) {
                proxy.arm(mode);
                const run = await cli(["apply", ...flags()], env);
                const ledger = await ledgerNames();

                expect(run.code, `${name} cut ${mode}`).toBe(1);
                if (stepped) {
                    expect(run.stderr).toMatch(
                        new RegExp(`the connection was lost while committing ${name} step \\w+; a new connection read the ledger: `),
                    );
                    // A batched step that found no row (0014's first, on a new database) changed nothing: there is nothing to lose.
                    if (/ step \w+ changed nothing, so nothing was lost/.test(run.stderr))
                        expect(name).toBe("0014_similarity_jsonb_fast.sql");
                    else if (mode === "before") expect(run.stderr).toMatch(/ (was rolled back|rolled back its last batch only)/);
                    else expect(run.stderr).toContain("is done. Run apply again to continue from the next step.");
                    expect(ledger).toEqual(migrations.slice(0, index));
                } else if (mode === "before") {
                    expect(run.stderr).toContain(`the connection was lost while committing ${name}; a new connection read the ledger: `);
                    expect(run.stderr).toContain(
                        `the ledger does not list ${name}: it was rolled back and the database is as it was before it.`,
                    );
                    expect(ledger).toEqual(migrations.slice(0, index));
                } else {
                    expect(run.stderr).toContain(`the connection was lost while committing ${name}; a new connection read the ledger: `);
                    expect(run.stderr).toContain(
                        `the ledger lists ${name}: it is applied. Nothing after it ran; run apply again to continue.`,
                    );
                    expect(ledger).toEqual(migrations.slice(0, index + 1));
                }
            }
            if (stepped) {
                // Its other steps run; a migration after it is cut before its COMMIT, so that its own turn finds it not applied.
                const next = migrations[index + 1];
                if (next !== undefined) {
                    proxy.arm("before", next);
                    stepCuts++;
                }
                const rest = await cli(["apply", ...flags()], env);
                expect(rest.code, rest.stderr).toBe(next === undefined ? 0 : 1);
            }
            expect(await ledgerNames()).toEqual(migrations.slice(0, index + 1));
        }
        expect(proxy.cuts).toBe(migrations.length * 2 + stepCuts);
        const status = await cli(["status", ...flags()], env);
        expect(status.code, status.stdout).toBe(0);
        // Some 30 runs of the CLI, one after the other: 18 s in CI, 30 s on a busy 2-core machine.
    }, 180_000);
});

describe("a connection lost at the rollback's COMMIT", () => {
    it("is reported as the ledger has it, cut before and after", async () => {
        proxy.arm("before");
        const before = await cli(["rollback"], env);
        expect(before.code).toBe(1);
        expect(before.stderr).toContain(
            "the connection was lost while committing the rollback; a new connection read the ledger: the ledger is still there: the rollback was undone and nothing was dropped.",
        );
        expect((await ledgerNames()).length).toBeGreaterThan(0);

        proxy.arm("after");
        const after = await cli(["rollback"], env);
        expect(after.code).toBe(1);
        expect(after.stderr).toContain(
            "the connection was lost while committing the rollback; a new connection read the ledger: the ledger is gone: the rollback is done.",
        );
        expect(await ledgerNames()).toEqual([]);
    });
});
