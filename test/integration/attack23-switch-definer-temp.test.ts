// attack23: between 0015_vector_expand and 0016_vector_contract, every write to goal_assessments and
// belief_graphs runs the switch's sync triggers as the owner (security definer), and they convert the
// embedding with memory_stack.vector_switch_value, whose `set search_path from current` is the engine's.
// A search_path that does not name pg_temp has it searched first for types: an app role that made a
// temp domain `text` with a check calling its own temp function would have that function run as the
// owner on its next write. The engine's search_path names pg_temp last, so the functions it creates
// resolve every type before the session's temp schema. On PGlite + pgvector (one session).
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Client } from "pg";
import { applyMigrations, describeVariant } from "../../engine/migrate/index";
import type { PgliteServer } from "../support/pglite-server";
import { grantStackPrivileges } from "../support/schema-db";
import { apply, jsonb, program, start, USER, vector } from "../support/vector-switch";

let server: PgliteServer;
let client: Client;

beforeAll(async () => {
    ({ server, client } = await start());
    await apply(client, jsonb);
    await client.query("insert into users (id) values ($1)", [USER]);
    const upToContract = program(vector).filter((m) => !["0016_vector_contract.sql", "0017_similarity_vector.sql"].includes(m.name));
    await applyMigrations(client, upToContract, { variant: describeVariant(vector) });
    await grantStackPrivileges(client, vector);
}, 120_000);

afterAll(async () => {
    await client?.end();
    await server?.stop();
});

it("runs nothing of the app role's as the owner when it writes mid-switch with a temp type named text", async () => {
    await client.query("begin");
    try {
        await client.query(`set local role "${vector.appRole}"`);
        await client.query(
            `create function pg_temp.seen_as(v pg_catalog.text) returns boolean language sql
             as $$ select pg_catalog.set_config('attack23.ran_as', pg_catalog.concat_ws(' ', pg_catalog.current_setting('attack23.ran_as', true), pg_catalog.current_user()), true) is not null $$`,
        );
        await client.query("create domain pg_temp.text as pg_catalog.text check (pg_temp.seen_as(value))");
        await client.query("select memory_stack.bind_user($1)", [USER]);
        await client.query(
            "insert into goal_assessments (user_id, agent_name, goal_text, goal_vector) values ($1, 'a', 'g', '[1, 0, 0]')",
            [USER],
        );
        const { rows } = await client.query("select current_setting('attack23.ran_as', true) as ran_as, current_user as me");
        expect(rows[0].me).toBe(vector.appRole);
        // The app role's own triggers run it as the app role, which is no one else's business; never as the owner.
        expect(
            String(rows[0].ran_as ?? "")
                .split(" ")
                .filter((role) => role !== "" && role !== vector.appRole),
        ).toEqual([]);
    } finally {
        await client.query("rollback");
    }
});
