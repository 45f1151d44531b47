// attack25: the switch to vector adds goal_vector_new / belief_vector_new with `add column if not exists` and swaps it in
// for the embedding. An application's own column of that name (a re-embedding under way, say) was taken for the twin:
// with a vector type, the switch succeeded, the goals' embeddings became the application's values (the jsonb ones
// dropped) and its column was gone; with jsonb, the trigger overwrote the application's values on every write and the
// backfill failed, leaving the switch under way. An application's trigger named vector_switch_sync was replaced by the
// switch's and then dropped. The preflight refuses each, naming it, before any change.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client } from "pg";
import { applyMigrations, describeVariant } from "../../engine/migrate/index";
import { readStepLedger } from "../../engine/migrate/step-ledger";
import type { PgliteServer } from "../support/pglite-server";
import { apply, columnType, jsonb, program, start, USER, vector } from "../support/vector-switch";

const options = { ...jsonb, vectorDimensions: 3 };
const switched = { ...vector, vectorDimensions: 3 };
// As the CLI and the provider run it: with the schema options, which the preflight needs.
const switchNow = () => applyMigrations(client, program(switched), { variant: describeVariant(switched), schema: switched });
let server: PgliteServer;
let client: Client;

beforeAll(async () => {
    ({ server, client } = await start());
    await apply(client, options);
    await client.query(`create extension vector;
        insert into users (id, email) values ('${USER}', 'ada@example.com');
        insert into goal_assessments (user_id, agent_name, goal_text, goal_vector) values ('${USER}', 'a', 'g', '[1, 2, 3]');
        insert into belief_graphs (user_id, agent_name, subject, predicate, object, belief_vector) values ('${USER}', 'a', 's', 'p', 'o', '[4, 5, 6]');
        create function public.audit_goal() returns trigger language plpgsql as $$ begin return new; end $$;
        create trigger vector_switch_sync after insert on goal_assessments for each row execute function public.audit_goal();
        alter table goal_assessments add column goal_vector_new vector(3);
        alter table belief_graphs add column belief_vector_new jsonb;
        update goal_assessments set goal_vector_new = '[0.5, 0.5, 0.5]';
        update belief_graphs set belief_vector_new = '[0.25, 0.25, 0.25]'`);
}, 120_000);

afterAll(async () => {
    await client?.end();
    await server?.stop();
});

const embeddings = async () =>
    (
        await client.query(`select (select goal_vector::text from goal_assessments) as goal,
            (select belief_vector::text from belief_graphs) as belief`)
    ).rows[0];

describe("an application's own column named as the switch's twin", () => {
    it("refuses the switch before any change, naming the columns and the trigger", async () => {
        const error = (await switchNow().then(
            () => undefined,
            (e: unknown) => e,
        )) as Error | undefined;

        expect(error?.message).toContain("refusing to apply the memory schema: 3 conflicts found before any change");
        expect(error?.message).toContain(
            "- column public.belief_graphs.belief_vector_new (jsonb): exists and is not the stack's, and the switch to vector adds a column of that name",
        );
        expect(error?.message).toContain(
            "- column public.goal_assessments.goal_vector_new (public.vector(3)): exists and is not the stack's, and the switch to vector adds a column of that name",
        );
        expect(error?.message).toContain("alter table public.goal_assessments rename column goal_vector_new to ...");
        expect(error?.message).toContain(
            "- trigger vector_switch_sync on public.goal_assessments: exists and is not the stack's, and the switch to vector creates a trigger of that name",
        );
        expect(await readStepLedger(client)).toEqual([]);
        expect(await columnType(client, "goal_assessments", "goal_vector")).toBe("jsonb");
        expect(await embeddings()).toEqual({ goal: "[1, 2, 3]", belief: "[4, 5, 6]" });
        const theirs = await client.query(`select (select goal_vector_new::text from goal_assessments) as goal,
            (select belief_vector_new::text from belief_graphs) as belief`);
        expect(theirs.rows[0]).toEqual({ goal: "[0.5,0.5,0.5]", belief: "[0.25, 0.25, 0.25]" });
    });

    it("switches once they are renamed, keeping the embeddings and the application's columns and trigger", async () => {
        await client.query(`alter table goal_assessments rename column goal_vector_new to goal_vector_next;
            alter table belief_graphs rename column belief_vector_new to belief_vector_next;
            alter trigger vector_switch_sync on goal_assessments rename to audit_goal`);

        await switchNow();

        expect(await embeddings()).toEqual({ goal: "[1,2,3]", belief: "[4,5,6]" });
        const theirs = await client.query(`select (select goal_vector_next::text from goal_assessments) as goal,
            (select belief_vector_next::text from belief_graphs) as belief`);
        expect(theirs.rows[0]).toEqual({ goal: "[0.5,0.5,0.5]", belief: "[0.25, 0.25, 0.25]" });
        const triggers = await client.query(
            "select tgname from pg_trigger where tgrelid = 'goal_assessments'::regclass and tgname = 'audit_goal'",
        );
        expect(triggers.rowCount).toBe(1);
    });
});
