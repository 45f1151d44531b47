// The fast path of a repeated apply's grants (engine/migrate/grants.ts asks has_*_privilege first and
// grants nothing when every privilege is held) against the ways a privilege is lost or held by other
// means: a column privilege revoked, a maintenance function's EXECUTE revoked, an application function
// still executable through PUBLIC, an admin role that is a superuser for a while. After each apply,
// verification must pass: what the apply counted as held is what verification counts.
import type { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyMigrations, describeVariant } from "../../engine/migrate/index";
import { USERS_MEMORY_COLUMNS } from "../../engine/migrate/manifest";
import { verifySchema } from "../../engine/verify/index";
import { expectationsFor } from "../../engine/verify/expected";
import { DEFAULT_OPTIONS, migrationsFor } from "../support/apply-sql";
import { dropRoles, freshDatabase, sharedServer, type TestDatabase } from "../support/database";

let db: TestDatabase;
let client: Client;
const { appRole: app, adminRole: admin } = DEFAULT_OPTIONS;

beforeAll(async () => {
    db = await freshDatabase("grants_attack");
    client = await db.connect();
    expect((await apply()).grants.length).toBeGreaterThan(0);
});

afterAll(async () => {
    await client?.query(`alter role ${admin} nosuperuser`).catch(() => undefined);
    await db?.drop();
    await dropRoles(sharedServer(), [DEFAULT_OPTIONS.appRole, DEFAULT_OPTIONS.adminRole]);
});

const apply = async () =>
    applyMigrations(await db.connect(), migrationsFor(), {
        variant: describeVariant(DEFAULT_OPTIONS),
        schema: DEFAULT_OPTIONS,
        grantRoles: true,
        connect: () => db.connect(),
    });

const problems = async () =>
    (await verifySchema(client, await expectationsFor(DEFAULT_OPTIONS, migrationsFor()))).problems.map((p) => JSON.stringify(p));

describe("a repeated apply's grants", () => {
    it("restore the admin's UPDATE of one memory column of users, revoked alone", async () => {
        const column = USERS_MEMORY_COLUMNS[0];
        await client.query(`revoke update (${column}) on public.users from ${admin}`);
        expect((await problems()).join("\n")).toContain(column);

        expect((await apply()).grants.length).toBeGreaterThan(0);
        expect(await problems()).toEqual([]);
        expect((await client.query(`select has_column_privilege('${admin}', 'public.users', '${column}', 'update') as held`)).rows).toEqual(
            [{ held: true }],
        );
    });

    it("restore EXECUTE of a maintenance function (not PUBLIC's) revoked from the admin", async () => {
        await client.query(`revoke execute on function public.purge_old_logs from ${admin}`);
        expect((await problems()).join("\n")).toContain("purge_old_logs");

        expect((await apply()).grants.length).toBeGreaterThan(0);
        expect(await problems()).toEqual([]);
    });

    it("count EXECUTE of an application function held through PUBLIC, as verification does", async () => {
        await client.query(`revoke execute on function public.get_active_session from ${app}`);
        expect(await problems()).toEqual([]);
        expect((await apply()).grants).toEqual([]);
    });

    it("count a superuser admin as holding everything, and grant again once it is not one", async () => {
        await client.query(`revoke select on public.memory_logs from ${admin}; alter role ${admin} superuser`);
        expect((await apply()).grants).toEqual([]);

        await client.query(`alter role ${admin} nosuperuser`);
        expect((await problems()).join("\n")).toContain("memory_logs");
        expect((await apply()).grants.length).toBeGreaterThan(0);
        expect(await problems()).toEqual([]);
    });
});
