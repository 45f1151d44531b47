// A switch to vector that fails part way through `pulumi up` (here an application trigger refuses the backfill's update;
// a killed up or a lock deadline leaves the same), after which the user sets `vector` back to false. Pulumi keeps the
// last good state (jsonb), so the next up diffs unchanged and sends no SQL: the switch stays under way, its trigger
// converting every write to vector(N). Refresh must show it, so the up after it refuses with the way out.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ConnectionSettings } from "../../engine/db/url";
import { withClient } from "../support/database";
import { memoryProgram, type Lifecycle } from "../support/lifecycle";
import { jsonb, jsonbStackWithGoal, USER, vector, type JsonbStack } from "../support/vector-lifecycle";

let stack: JsonbStack;
let life: Lifecycle;
let connection: ConnectionSettings;

beforeAll(async () => {
    stack = await jsonbStackWithGoal();
    ({ life, connection } = stack);
    await withClient(connection, (client) =>
        client.query(`create function public.refuse_update() returns trigger language plpgsql as $$ begin raise exception 'not now'; end $$;
        create trigger refuse_update before update on goal_assessments for each row execute function public.refuse_update()`),
    );
    await expect(life.up(await memoryProgram({ connection, schema: vector }))).rejects.toThrow(/backfill_goals/);
    await withClient(connection, (client) =>
        client.query("drop trigger refuse_update on goal_assessments; drop function public.refuse_update()"),
    );
}, 180_000);

afterAll(async () => {
    await stack?.stop();
});

describe("a failed switch to vector, then vector set back to false", () => {
    it("leaves the switch under way: a write the jsonb variant takes is converted to vector(3) and refused", async () => {
        expect(await life.up(await memoryProgram({ connection, schema: jsonb }))).toMatchObject({ "memory-schema": "same" });
        await expect(
            withClient(connection, (client) =>
                client.query(`insert into goal_assessments (user_id, agent_name, goal_text, goal_vector)
                              values ('${USER}', 'sales', 'sell a robot', '[1, 2]')`),
            ),
        ).rejects.toThrow(/to vector\(3\)/);
    });

    it("shows on refresh, and the up after it refuses, naming the switch under way", async () => {
        expect((await life.refresh())["memory-schema"]).toEqual(["unfinished"]);
        expect(life.outputs("memory-schema").unfinished).toEqual(["0015_vector_expand.sql"]);
        await expect(life.up(await memoryProgram({ connection, schema: jsonb }))).rejects.toThrow(
            /memory-stack:vector asks for vector false, but the database.s ledger records vector true; nothing was done\. Turning vector off on a live stack is not supported \(the embeddings are vector\(N\) now, or a switch to vector is under way/,
        );
    });

    it("finishes with vector set again, and the refresh after it finds nothing unfinished", async () => {
        expect(await life.up(await memoryProgram({ connection, schema: vector }))).toMatchObject({ "memory-schema": "update" });
        expect(await life.refresh()).toEqual({ "memory-schema": [], "memory-verification": [] });
        expect(life.outputs("memory-schema").unfinished).toBeUndefined();
    });
});
