// The server crashes (an immediate shutdown: nothing checkpointed, the WAL replayed at restart) while `memory-stack apply`
// is in 0014's backfill, upgrading the release before 0013 as a managed owner; its batches commit without waiting for the
// disk (flushed when the run releases its lock, which this one never does). After the restart the next apply finishes,
// and the ledger, the step ledger and the ownership records are those of a clean upgrade on the same server.
import type { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyMigrations, migrationsFor } from "../support/apply-sql";
import { cli, startCli } from "../support/cli";
import { dropRoles, freshDatabase, withClient } from "../support/database";
import { startEmbeddedPostgres, type RunningServer } from "../support/embedded-server";
import { managedOwner, type ManagedOwner } from "../support/managed-owner";
import { until } from "../support/poll";
import { seedEmbeddings } from "../support/switch-data";

let server: RunningServer;
const roles: string[] = [];

beforeAll(async () => {
    server = await startEmbeddedPostgres();
}, 60_000);

afterAll(async () => {
    await dropRoles(server, roles).catch(() => undefined);
    await server?.stop();
});

/** A database of the release before 0013 with 900 goals and beliefs, its owner a managed server's. */
async function release(label: string): Promise<{ owner: ManagedOwner; name: string }> {
    const db = await freshDatabase(`a18_crash_${label}`, server);
    const owner = await managedOwner(db);
    const options = { appRole: `${db.name}_app`, adminRole: `${db.name}_admin`, vectorDimensions: 1536 };
    roles.push(options.appRole, options.adminRole, owner.name);
    const client = await owner.connect();
    await applyMigrations(
        client,
        migrationsFor(options).filter((migration) => migration.name < "0013"),
        options,
    );
    await seedEmbeddings(client, { users: 3, goalsPerUser: 300, beliefsPerUser: 300, dimensions: 8 });
    await client.end();
    return { owner, name: db.name };
}

async function recordedState(owner: ManagedOwner, name: string): Promise<string> {
    const client: Client = await owner.connect();
    try {
        const { rows } = await client.query<{ state: string }>(`select jsonb_build_object(
            'ledger', (select jsonb_agg(jsonb_build_array(name, case when name >= '0013' then checksum end, variant, options) order by name)
                         from memory_stack.migrations),
            'steps', (select count(*) from memory_stack.migration_steps),
            'records', (select jsonb_agg(jsonb_build_array(migration, kind, identity, name, parent, arguments, adopted) order by position)
                          from memory_stack.created_objects),
            'underived', (select count(*) from goal_assessments where goal_vector is not null and goal_vector_signs is null)
                       + (select count(*) from belief_graphs where belief_vector is not null and belief_vector_signs is null))::text as state`);
        return rows[0].state.replaceAll(name, "DB");
    } finally {
        await client.end();
    }
}

async function slowBackfill(owner: ManagedOwner, on: boolean): Promise<void> {
    const client: Client = await owner.connect();
    try {
        await client.query(
            on
                ? `create function public.slow_backfill() returns trigger language plpgsql as $$ begin perform pg_sleep(0.01); return new; end $$;
                   create trigger slow_backfill before update on public.belief_graphs for each row execute function public.slow_backfill()`
                : "drop trigger slow_backfill on public.belief_graphs; drop function public.slow_backfill()",
        );
    } finally {
        await client.end();
    }
}

describe("the server crashing while memory-stack apply is in 0014's backfill", () => {
    it("leaves an upgrade the next apply finishes as a clean one", async () => {
        const clean = await release("clean");
        const upgrade = await cli(["apply"], clean.owner.env);
        expect(upgrade.code, upgrade.stderr).toBe(0);
        const expected = await recordedState(clean.owner, clean.name);

        const crashed = await release("crashed");
        // An application's trigger that sleeps on every row the backfill updates: each batch takes a second, so the crash
        // lands inside the backfill however fast the machine is (once, all 900 rows were done between the poll and the crash).
        await slowBackfill(crashed.owner, true);
        const run = startCli(["apply"], crashed.owner.env);
        await until(
            "a batch of derive_beliefs committed",
            () => (/derive_beliefs: \d+/.test(run.stderrSoFar()) ? true : undefined),
            30_000,
        );
        await server.crash();
        const ended = await run.ended;
        expect(ended.code, ended.stderr).toBe(1);
        expect(ended.stderr).not.toMatch(/^\s+at /m);
        await server.restart();
        await until("the restarted server to accept connections", () =>
            withClient({ host: server.host, port: server.port, user: server.user, password: server.password, database: "postgres" }, () =>
                Promise.resolve(true),
            ).catch(() => undefined),
        );
        await slowBackfill(crashed.owner, false);
        const again = await cli(["apply"], crashed.owner.env);
        expect(again.code, again.stdout + again.stderr).toBe(0);
        expect(await recordedState(crashed.owner, crashed.name)).toEqual(expected);
    }, 120_000);
});
