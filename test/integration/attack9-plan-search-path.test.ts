// attack9: `memory-stack plan` takes no migration lock, so its preflight ran on the caller's search_path ("$user",
// public), not on pg_catalog's as apply's does under the lock. Its reads name quote_ident and format unqualified: a
// role able to create in public planted a closer quote_ident(name) there, and a table and policy of a name the
// preflight looks at (public.sessions, sessions_own_rows), and plan ran the planted function as the caller.
import type { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli } from "../support/cli";
import { dropRoles, freshDatabase, sharedServer, type TestDatabase } from "../support/database";
import { plant, plantedRan, PLANTED } from "../support/planted";

let db: TestDatabase;
let client: Client;
let planter: string;

beforeAll(async () => {
    db = await freshDatabase("attack9_plan_path");
    client = await db.connect();
    planter = `${db.name}_planter`;
    await client.query(`create role ${planter} login password 'pw'; grant create on schema public to ${planter}`);
    const asPlanter = await db.connect({ user: planter, password: "pw" });
    await plant(asPlanter);
    await asPlanter.query("create table public.sessions (id int); create policy sessions_own_rows on public.sessions using (true)");
    await asPlanter.end();
});

afterAll(async () => {
    await db?.drop();
    await dropRoles(sharedServer(), [planter]);
});

describe(`a role that can create in public plants ${PLANTED}`, () => {
    it("gets nothing run by `memory-stack plan`, whose preflight names its table", async () => {
        const run = await cli(["plan"], { DATABASE_URL: db.url });
        // The preflight ran and saw the table: apply would refuse it.
        expect(run.stdout).toContain("table public.sessions");
        // Fails: the policies' read of the preflight ran quote_ident(c.relname), quote_ident(p.polname) with public on the path.
        expect(await plantedRan(client)).toEqual([]);
    });
});
