// BUG on be2433e: the preflight asks row_security_active once, before the first migration; a batched backfill
// runs in many short transactions after it, with row_security on (a56c88b). When the table's owner (the
// application connecting as the deploying role, or a DBA) forces row level security on the table between
// two batches, the next batch sees none of the rows the policies hide from the deployer: it returns no id,
// the step is recorded as finished, and the apply reports success. What a user loses: every goal past the
// first batch is never derived, so match_goals misses it, silently (the switch to vector backfills, then
// drops, the jsonb embeddings the same way). The apply must fail instead, naming the table, and a later
// apply, once FORCE is lifted, must derive the rest.
import { afterAll, describe, expect, it } from "vitest";
import { startCli, cli } from "../support/cli";
import { applyMigrations, migrationsFor } from "../support/apply-sql";
import { dropRoles, sharedServer, type TestDatabase } from "../support/database";
import { releaseBeforeDerived } from "../support/managed-owner";
import { until } from "../support/poll";

const databases: TestDatabase[] = [];
const roles: string[] = [];

afterAll(async () => {
    await Promise.all(databases.map((db) => db.drop()));
    await dropRoles(sharedServer(), roles);
});

describe("row level security forced on a memory table between two batches of a backfill", () => {
    it("fails the apply instead of recording the backfill done, and a later apply derives every row", async () => {
        const release = await releaseBeforeDerived("a14_forced_mid_backfill");
        const { db, options, asOwner } = release;
        const { env } = release.owner;
        databases.push(db);
        roles.push(...release.roles);
        const admin = await db.connect();
        const holder = await db.connect();
        // 300 goals: more than the first batch (100) holds.
        await asOwner.query(`insert into users (email) values ('ada@example.com');
            insert into goal_assessments (user_id, agent_name, goal_text, goal_vector)
                select id, 'planner', 'goal ' || n, '[0.1, 0.2, 0.3]'::jsonb from users, generate_series(1, 300) n`);
        // 0013 too (it adds the derived columns, with a table lock): the apply below starts at 0014's backfill.
        await applyMigrations(
            asOwner,
            migrationsFor(options).filter((migration) => migration.name < "0014"),
            options,
        );
        const underived = async () =>
            (
                await admin.query<{ n: number }>(
                    "select count(*)::int as n from goal_assessments where goal_vector is not null and goal_vector_signs is null",
                )
            ).rows[0].n;
        // The first batch waits for a row of its own, held here.
        await holder.query(
            "begin; select from goal_assessments where id = (select id from goal_assessments order by id limit 1) for update",
        );
        const waiting = (pattern: string) => async () =>
            (
                await admin.query("select pid from pg_stat_activity where datname = $1 and wait_event_type = 'Lock' and query like $2", [
                    db.name,
                    pattern,
                ])
            ).rowCount! > 0 || undefined;

        const upgrade = startCli(["apply"], env);
        await until("the first batch waiting for the held row", waiting("%derive_only%"), 20_000).catch(async (e) => {
            console.log(
                upgrade.stderrSoFar(),
                JSON.stringify(
                    (
                        await admin.query(
                            "select pid, usename, state, wait_event_type, wait_event, left(query, 300) q from pg_stat_activity where datname = $1",
                            [db.name],
                        )
                    ).rows,
                    null,
                    1,
                ),
            );
            throw e;
        });
        const forcing = asOwner.query("alter table goal_assessments force row level security");
        await until("the alter waiting behind the batch", waiting("alter table goal_assessments force%"));
        await holder.query("commit");
        await forcing;
        const result = await upgrade.ended;

        const left = await underived();
        expect({ code: result.code, left }, result.stdout + result.stderr).not.toEqual({ code: 0, left: 200 });
        expect(result.code, result.stdout + result.stderr).toBe(1);
        expect(result.stderr).toContain("row level security applies to");
        expect(result.stderr).toContain("alter table public.goal_assessments no force row level security");
        await asOwner.query("alter table goal_assessments no force row level security");
        const again = await cli(["apply"], env);
        expect(again.code, again.stderr).toBe(0);
        expect(await underived()).toBe(0);
        await Promise.all([admin.end(), holder.end(), asOwner.end()]);
    });
});
