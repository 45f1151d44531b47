// An application's subscription that replicates another database's goal_assessments into the memory table. Its
// tables are pg_subscription_rel rows, with no pg_depend row, so the dependents check did not see it and DROP TABLE
// took the table out of the application's subscription without a word: the rollback succeeded, saying nothing.
import type { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli } from "../support/cli";
import { freshDatabase, type TestDatabase } from "../support/database";
import { schemaDatabase, type SchemaDatabase } from "../support/schema-db";

let schema: SchemaDatabase;
let publisher: TestDatabase;

const subscribed = async (client: Client) =>
    (await client.query<{ table: string }>("select srrelid::regclass::text as table from pg_subscription_rel")).rows.map(
        (row) => row.table,
    );

beforeAll(async () => {
    schema = await schemaDatabase("a27_subscription");
    publisher = await freshDatabase("a27_publisher");
    const client = await publisher.connect();
    await client.query("create table goal_assessments (id uuid primary key); create publication app_pub for table goal_assessments");
    await client.end();
    // No slot and disabled: the subscription's tables are recorded from the publication, and nothing replicates.
    await schema.client.query(
        `create subscription app_sub connection '${publisher.url}' publication app_pub
             with (create_slot = false, slot_name = none, enabled = false, copy_data = false)`,
    );
});

afterAll(async () => {
    await schema?.client.query("drop subscription if exists app_sub");
    await schema?.drop();
    await publisher?.drop();
});

describe("rollback with an application's subscription replicating into a memory table", () => {
    it("refuses, naming the subscription, drops nothing, and goes through once the table is out of it", async () => {
        const env = { DATABASE_URL: schema.db.url };

        const refused = await cli(["rollback", "--allow-data-loss"], env);

        expect(refused.code).toBe(1);
        expect(refused.stderr).toContain(
            "- table public.goal_assessments in subscription app_sub (on table public.goal_assessments): take the table out of the publication " +
                "subscription app_sub subscribes to, on its publisher, then alter subscription app_sub refresh publication",
        );
        expect(refused.stderr).toContain("Nothing was dropped.");
        expect(await subscribed(schema.client)).toEqual(["goal_assessments"]);

        await schema.client.query("drop subscription app_sub");
        const rollback = await cli(["rollback", "--allow-data-loss"], env);
        expect(rollback.code, rollback.stderr).toBe(0);
        expect((await schema.client.query("select to_regclass('public.goal_assessments') as t")).rows[0].t).toBeNull();
    });
});
