// `pulumi destroy` through Pulumi's dynamic-provider host, by a deployer that is not a superuser (a managed
// server's owner role with CREATEROLE), over an application's users. Data the guard could not see
// before b2b6cb7's fix: rows of memory tables under FORCE ROW LEVEL SECURITY (the policies apply to
// the owner, who sets no user id and so saw none) and opt-outs equal to a default the application
// changed. Each must stop the destroy with nothing dropped; the state keeps the schema resource.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ConnectionSettings } from "../../engine/db/url";
import { readLedger } from "../../engine/migrate/index";
import { memoryProgram, startLifecycle, type Lifecycle } from "../support/lifecycle";
import { dropRoles } from "../support/database";
import { managedOwner } from "../support/managed-owner";
import { schemaDatabase, type SchemaDatabase } from "../support/schema-db";

let schema: SchemaDatabase;
let life: Lifecycle;
let owner: string;
let connection: ConnectionSettings;

beforeAll(async () => {
    [schema, life] = await Promise.all([schemaDatabase("a12_destroy_hidden", {}, false), startLifecycle()]);
    const deployer = await managedOwner(schema.db);
    ({ name: owner, settings: connection } = deployer);
    // Verification checks row level security as each role.
    await schema.client.query(`create role ${schema.options.appRole} nologin; create role ${schema.options.adminRole} nologin;
        grant ${schema.options.appRole}, ${schema.options.adminRole} to ${owner}`);
    const asOwner = await deployer.connect();
    await asOwner.query(`create table public.users (id uuid primary key default gen_random_uuid(), email text unique not null);
        insert into public.users (email) values ('ada@example.com'), ('bob@example.com')`);
    await life.up(await memoryProgram({ connection, schema: schema.options }));
    await asOwner.query(`insert into sessions (session_id, user_id, agent_name) select 's-' || email, id, 'planner' from users;
        alter table sessions force row level security`);
    await asOwner.end();
});

afterAll(async () => {
    await life?.host.stop();
    await schema?.drop();
    await dropRoles(schema.db.server, [owner]);
});

describe("pulumi destroy of data the guard cannot count as the deployer", () => {
    it("refuses while row level security hides the memory tables' rows from the deployer, dropping nothing", async () => {
        const ledger = await readLedger(schema.client);

        await expect(life.destroy()).rejects.toThrow(
            `refusing to roll back the memory schema: row level security applies to ${owner} on public.sessions`,
        );
        expect([...life.state.keys()]).toEqual(["memory-schema"]);
        expect(await readLedger(schema.client)).toEqual(ledger);
        expect((await schema.client.query("select count(*)::int as n from sessions")).rows[0].n).toBe(2);
    });

    it("refuses for opt-outs equal to the default the application set, once the rows are gone", async () => {
        await schema.client.query(`alter table sessions no force row level security; delete from sessions;
            alter table users alter column memory_enabled set default false; update users set memory_enabled = false`);

        await expect(life.destroy()).rejects.toThrow(
            "2 non-default values in columns the stack added would be lost (users.memory_enabled: 2)",
        );
        expect((await schema.client.query("select count(*)::int as n from users where not memory_enabled")).rows[0].n).toBe(2);
    });
});
