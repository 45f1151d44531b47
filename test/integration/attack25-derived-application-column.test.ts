// attack25: 0013_similarity_derived adds goal_vector_unit, _signs and _magnitudes with `add column if not exists` and a
// trigger that derives them from the embedding. An application's own column of such a name (upgrading from before 0013)
// was taken for the derived one: the upgrade succeeded, the trigger overwrote the application's values, and the switch
// to vector would later drop the column. The preflight refuses it, naming the column, before any change.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client } from "pg";
import { applyMigrations } from "../../engine/migrate/index";
import { DEFAULT_OPTIONS, migrationsFor } from "../support/apply-sql";
import { dropRoles, freshDatabase, sharedServer, type TestDatabase } from "../support/database";

let db: TestDatabase;
let client: Client;
let options: typeof DEFAULT_OPTIONS;

beforeAll(async () => {
    db = await freshDatabase("a25_derived_app_column");
    client = await db.connect();
    options = { ...DEFAULT_OPTIONS, appRole: `${db.name}_app`, adminRole: `${db.name}_admin`, vectorDimensions: 3 };
    await applyMigrations(
        client,
        migrationsFor(options).filter((migration) => migration.name < "0013"),
        { variant: "jsonb", schema: options },
    );
    await client.query(`alter table goal_assessments add column goal_vector_unit text;
        insert into users (email) values ('ada@example.com');
        insert into goal_assessments (user_id, agent_name, goal_text, goal_vector, goal_vector_unit)
            select id, 'a', 'g', '[1, 2, 3]', 'the application''s' from users`);
}, 60_000);

afterAll(async () => {
    await db?.drop();
    await dropRoles(sharedServer(), [options.appRole, options.adminRole]);
});

const theirs = async (column: string) => (await client.query(`select ${column} as value from goal_assessments`)).rows[0].value;

describe("an application's own column named as one of 0013's derived columns", () => {
    it("refuses the upgrade before any change, naming it", async () => {
        const error = (await applyMigrations(client, migrationsFor(options), { variant: "jsonb", schema: options }).then(
            () => undefined,
            (e: unknown) => e,
        )) as Error | undefined;

        expect(error?.message).toContain("refusing to apply the memory schema: 1 conflict found before any change");
        expect(error?.message).toContain(
            "- column public.goal_assessments.goal_vector_unit (text): exists and is not the stack's, and the memory schema adds a column of that name derived from the embedding",
        );
        expect(await theirs("goal_vector_unit")).toBe("the application's");
    });

    it("upgrades once it is renamed, keeping the application's values", async () => {
        await client.query("alter table goal_assessments rename column goal_vector_unit to goal_vector_unit_mine");

        await applyMigrations(client, migrationsFor(options), { variant: "jsonb", schema: options });

        expect(await theirs("goal_vector_unit_mine")).toBe("the application's");
        expect(await theirs("goal_vector_unit::text")).toBe("{0.26726124,0.5345225,0.80178374}");
    });
});
