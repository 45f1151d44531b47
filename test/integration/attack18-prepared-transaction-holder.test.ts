// BUG on e960336: a prepared transaction (two-phase commit that its transaction manager never finished: an XA/JTA
// application server that crashed between PREPARE and COMMIT) holds goal_assessments. No backend holds it, so
// pg_blocking_pids reports pid 0 and pg_stat_activity has no row for it: every lock-wait line and the final error of the
// upgrade said the blocker was "not identified: no second connection could watch the wait" (false: the watcher was
// there), and told the user to look in pg_stat_activity and pg_terminate_backend it, which can never end it. What a user
// loses: the upgrade fails at every deadline with a wrong diagnosis, and nothing in it leads to pg_prepared_xacts and
// COMMIT/ROLLBACK PREPARED, the only way out. The lines must name the prepared transaction by its gid.
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyMigrations, migrationsFor } from "../support/apply-sql";
import { cli } from "../support/cli";
import { freshDatabase } from "../support/database";
import { startEmbeddedPostgres, type RunningServer } from "../support/embedded-server";
import { managedOwner } from "../support/managed-owner";

let server: RunningServer;

beforeAll(async () => {
    // Two-phase commit is off by default (max_prepared_transactions = 0); servers behind XA transaction managers turn it on.
    server = await startEmbeddedPostgres({ flags: ["-c", "max_prepared_transactions=5"] });
}, 60_000);

afterAll(async () => {
    await server?.stop();
});

describe("a prepared transaction holding goal_assessments while memory-stack apply upgrades the release before 0013", () => {
    it("is named by its gid in every wait line and in the error at the deadline, with how to end it; nothing of 0013 is applied", async () => {
        const db = await freshDatabase("a18_2pc", server);
        const owner = await managedOwner(db);
        const options = { appRole: `${db.name}_app`, adminRole: `${db.name}_admin`, vectorDimensions: 1536 };
        const client = await owner.connect();
        await applyMigrations(
            client,
            migrationsFor(options).filter((migration) => migration.name < "0013"),
            options,
        );
        const manager = new Client(db.config);
        await manager.connect();
        await manager.query("begin; select count(*) from goal_assessments; prepare transaction 'billing-42'");
        await manager.end();

        const upgrade = await cli(["apply", "--lock-deadline", "2"], owner.env);

        expect(upgrade.code, upgrade.stderr).toBe(1);
        const lines = upgrade.stderr
            .split("\n")
            .filter((line) => line.startsWith("waiting for a lock") || line.includes("gave up waiting"));
        expect(lines.length).toBeGreaterThan(1);
        for (const line of lines) {
            expect(line).toContain("the prepared transaction 'billing-42'");
            expect(line).not.toContain("not identified");
        }
        expect(upgrade.stderr).toContain("rollback prepared 'billing-42'");
        expect((await client.query("select count(*)::int as n from memory_stack.migrations where name >= '0013'")).rows[0].n).toBe(0);
        const admin = new Client(db.config);
        await admin.connect();
        await admin.query("rollback prepared 'billing-42'");
        await admin.end();
        const again = await cli(["apply"], owner.env);
        expect(again.code, again.stderr).toBe(0);
        await client.end();
    }, 60_000);
});
