// attack25: row level security forced on the memory tables while the jsonb → vector switch runs (PostgreSQL 15, the
// stand-in switch of test/fixtures/stand-in, run by the same step machinery as 0015/0016). The preflight saw no FORCE;
// the table's owner forces it after a step, so every later statement of the deployer sees only the rows the policies
// show it (none). Whatever step comes next must not count rows it cannot see as done, nor drop a jsonb column whose
// rows it could not convert: the apply fails naming the table, and once FORCE is lifted the next apply finishes with
// every row and embedding as it was.
import { afterAll, describe, expect, it } from "vitest";
import { applyMigrations, readLedger } from "../../engine/migrate/index";
import type { StepEvent } from "../../engine/migrate/step-runner";
import { DEFAULT_OPTIONS } from "../support/apply-sql";
import { dropRoles, sharedServer, type TestDatabase } from "../support/database";
import { releaseWithAgents } from "../support/managed-owner";
import { psqlNow } from "../support/psql-now";
import { snapshot, standInProgram } from "../support/switch-data";

const databases: TestDatabase[] = [];
const roles: string[] = [];

afterAll(async () => {
    await Promise.all(databases.map((db) => db.drop()));
    await dropRoles(sharedServer(), roles);
});

const FORCE = "alter table goal_assessments force row level security; alter table belief_graphs force row level security";
const LIFT = "alter table goal_assessments no force row level security; alter table belief_graphs no force row level security";

// Each step, and the step whose commit finds FORCE.
describe.each([
    ["precheck", "0015_stand_in_expand.sql step expand"],
    ["expand", "0015_stand_in_expand.sql step backfill_goals"],
    ["backfill_goals", "0015_stand_in_expand.sql step backfill_beliefs"],
    ["backfill_beliefs", "0015_stand_in_expand.sql step index_goals"],
    ["index_goals", "0015_stand_in_expand.sql step index_beliefs"],
    ["index_beliefs", "0016_stand_in_contract.sql step bridge"],
    ["bridge", "0016_stand_in_contract.sql step contract_goals"],
    ["contract_goals", "0016_stand_in_contract.sql step contract_beliefs"],
])("FORCE row level security right after the switch's step %s", (after, refused) => {
    it("fails the apply naming the table; lifted, the next apply finishes and keeps every row and embedding", async () => {
        const release = await releaseWithAgents(`a25_forced_${after}`, { users: 2, goalsPerUser: 150, beliefsPerUser: 120, dimensions: 4 });
        databases.push(release.db);
        roles.push(...release.roles);
        const { asOwner, owner } = release;
        const options = { ...release.options, vectorDimensions: 4 };
        const { program } = standInProgram({ ...DEFAULT_OPTIONS, ...options });
        await applyMigrations(
            asOwner,
            program.filter((m) => !m.name.includes("stand_in")), // a jsonb stack of this release
            { variant: "jsonb" },
        );
        const before = await snapshot(asOwner);
        const url = `postgresql://${owner.settings.user}:${owner.settings.password}@${owner.settings.host}:${owner.settings.port}/${owner.settings.database}`;
        let forced = false;
        const onEvent = (event: StepEvent) => {
            if (!forced && event.type === "step" && event.step === after) {
                forced = true;
                psqlNow(url, FORCE);
            }
        };
        const error = await applyMigrations(asOwner, program, { variant: "vector(4,hnsw)", steps: { onEvent } }).then(
            () => undefined,
            (e: unknown) => e as Error,
        );
        const ledger = (await readLedger(asOwner)).map((row) => row.name);
        psqlNow(url, LIFT);
        await applyMigrations(asOwner, program, { variant: "vector(4,hnsw)" });
        const afterSwitch = await snapshot(asOwner);

        expect(forced).toBe(true);
        expect(afterSwitch).toEqual(before);
        expect(error?.message).toContain(
            `${refused}: row level security applies to ${owner.name} on public.belief_graphs, public.goal_assessments`,
        );
        expect(ledger.filter((name) => name.includes("stand_in"))).toEqual(
            ["index_beliefs", "bridge", "contract_goals"].includes(after) ? ["0015_stand_in_expand.sql"] : [],
        );
    });
});
