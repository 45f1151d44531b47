// The data guard counts the memory columns of an application's users in one scan of users, not one per column:
// under the guard's EXCLUSIVE lock the application's writes to users wait out the whole count.
import { expect, it } from "vitest";
import type { SqlClient } from "../../engine/db/client";
import { countAtRisk } from "../../engine/migrate/guard";
import { readRecords } from "../../engine/migrate/ownership";
import { cli } from "../support/cli";
import { cliDatabases } from "../support/cli-database";

const cliDatabase = cliDatabases();

it("counts the three memory columns of users in one scan, each right", async () => {
    const { client, roleFlags, env } = await cliDatabase("guard_scan");
    await client.query(`create table public.users (id uuid primary key default gen_random_uuid(), email text not null);
        insert into public.users (email) select 'user' || i || '@example.com' from generate_series(1, 6) i`);
    const apply = await cli(["apply", ...roleFlags], env);
    expect(apply.code, apply.stderr).toBe(0);
    await client.query(`update users set memory_enabled = false where email in ('user1@example.com', 'user2@example.com');
        update users set memory_preferences = '{"tone": "short"}' where email = 'user3@example.com'`);

    const sent: string[] = [];
    const recording = {
        query: (text: string, values?: unknown[]) => {
            sent.push(text);
            return client.query(text, values);
        },
    } as unknown as SqlClient;
    const counted = await countAtRisk(recording, await readRecords(client));

    expect(counted.columnCounts).toEqual({ "users.last_memory_activity_at": 0, "users.memory_enabled": 2, "users.memory_preferences": 1 });
    const plan = await client.query<{ "QUERY PLAN": unknown }>(`explain (format json) ${sent[sent.length - 1]}`);
    const scans = JSON.stringify(plan.rows[0]["QUERY PLAN"]).match(/"Relation Name":"users"/g) ?? [];
    expect(scans).toHaveLength(1);
});
