// Migrations that read and rewrite rows run as the owner, which row level security does not filter, unless a
// table forces it on its owner (`alter table … force row level security`, as a hardening script applies to every
// table with policies). The memory tables' policies name the app and admin roles only: under FORCE the owner
// sees no row, and a migration's backfill silently skips every one. 0014_similarity_jsonb_fast.sql derives the
// sign bits and unit vectors of goals written before 0013 in batches; forced, it found no row to derive and was
// recorded as applied, so match_goals's candidate pass never found those goals again (docs/similarity.md's
// recall). The same blindness in the vector switch's backfill and contract (0015, 0016) would drop the jsonb
// embeddings with nothing copied to the vector column. The apply must refuse before any change (the preflight),
// not skip rows it cannot see.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_SCHEMA_OPTIONS } from "../../engine/config/schema-options";
import { applyMigrations } from "../../engine/migrate/index";
import { loadMigrationSources, renderMigrations } from "../../engine/migrate/render";
import { cli } from "../support/cli";
import { dropRoles, freshDatabase, sharedServer, type TestDatabase } from "../support/database";
import { managedOwner } from "../support/managed-owner";

let db: TestDatabase;
let owner: string;
let roles: string[];
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
    db = await freshDatabase("attack11_forced_migrate");
    roles = [`${db.name}_app`, `${db.name}_admin`];
    const deployer = await managedOwner(db);
    ({ name: owner, env } = deployer);
    const asOwner = await deployer.connect();
    // What the release before 0013 deployed, with goals written then.
    const options = { ...DEFAULT_SCHEMA_OPTIONS, appRole: roles[0], adminRole: roles[1] };
    const migrations = renderMigrations(loadMigrationSources(), options);
    const before = migrations.findIndex((migration) => migration.name.startsWith("0013_"));
    await applyMigrations(asOwner, migrations.slice(0, before), { variant: "jsonb", schema: options, grantRoles: true });
    const vector = JSON.stringify(Array.from({ length: 1536 }, (_, i) => Math.sin(i + 1)));
    await asOwner.query(`insert into users (id, email) values ('00000000-0000-4000-8000-000000000001', 'a@example.com');
        insert into goal_assessments (user_id, agent_name, goal_text, goal_vector)
        select '00000000-0000-4000-8000-000000000001', 'planner', 'goal ' || i, '${vector}'::jsonb from generate_series(1, 20) i;
        alter table goal_assessments force row level security`);
});

afterAll(async () => {
    await db?.drop();
    await dropRoles(sharedServer(), [...(roles ?? []), ...(owner ? [owner] : [])]);
});

describe("apply over a memory table that forces row level security on its owner", () => {
    it("is refused before any change, naming row level security, rather than recording a backfill it could not do", async () => {
        const apply = await cli(["apply"], env);

        const check = await db.connect();
        // Refused by the preflight: neither 0013 (the derived columns) nor the backfill ran.
        const recorded = await check.query("select count(*)::int as n from memory_stack.migrations where name >= '0013'");
        expect({ code: apply.code, recorded: recorded.rows[0].n }).toEqual({ code: 1, recorded: 0 });
        expect(apply.stderr).toContain("table public.goal_assessments: row level security applies to");
        expect(apply.stderr).toContain("nothing was changed");
    });
});
