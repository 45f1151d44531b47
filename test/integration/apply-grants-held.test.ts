// A repeated apply grants nothing when the roles hold every privilege already (read as verification
// reads them), and grants again whatever they lost: after a revoke the next apply restores it and
// verification passes; a privilege held only through PUBLIC or a membership counts as held, as it does
// for verification.
import type { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyMigrations, describeVariant } from "../../engine/migrate/index";
import { verifySchema } from "../../engine/verify/index";
import { expectationsFor } from "../../engine/verify/expected";
import { DEFAULT_OPTIONS, migrationsFor } from "../support/apply-sql";
import { dropRoles, freshDatabase, sharedServer, type TestDatabase } from "../support/database";

let db: TestDatabase;
let client: Client;
const app = DEFAULT_OPTIONS.appRole;

beforeAll(async () => {
    db = await freshDatabase("grants_held");
    client = await db.connect();
});

afterAll(async () => {
    await db.drop();
    await dropRoles(sharedServer(), [`${app}_group`, DEFAULT_OPTIONS.appRole, DEFAULT_OPTIONS.adminRole]);
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

describe("the grants of a repeated apply", () => {
    it("are none when the roles hold everything, and the lost ones after a revoke; verification passes after each", async () => {
        expect((await apply()).grants.length).toBeGreaterThan(0);
        expect((await apply()).grants).toEqual([]);
        expect(await problems()).toEqual([]);

        await client.query(`revoke select on public.memory_logs from ${app}`);
        expect((await problems()).join("\n")).toContain("memory_logs");
        expect((await apply()).grants.length).toBeGreaterThan(0);
        expect(await problems()).toEqual([]);
    });

    it("count a privilege held through a role the app role is a member of, as verification does", async () => {
        await client.query(`revoke select on public.memory_logs from ${app};
            create role ${app}_group nologin; grant select on public.memory_logs to ${app}_group; grant ${app}_group to ${app}`);

        expect(await problems()).toEqual([]);
        expect((await apply()).grants).toEqual([]);
    });
});

describe("a role dropped after an apply", () => {
    // Not a regression of the fast path: the grant fails as it did before, with PostgreSQL's bare message
    // (no "granting the roles their privileges", no hint that --repair re-creates the stack's role).
    it("fails the grants naming the role, and an apply with repair re-creates it and grants again", async () => {
        await client.query(`drop owned by ${app}; drop role ${app}`);
        const error = await apply().then(
            () => undefined,
            (failure: unknown) => failure as Error,
        );
        expect(error?.message).toContain(`role "${app}" does not exist`);

        const repaired = await applyMigrations(await db.connect(), migrationsFor(), {
            variant: describeVariant(DEFAULT_OPTIONS),
            schema: DEFAULT_OPTIONS,
            grantRoles: true,
            repair: true,
            connect: () => db.connect(),
        });
        expect(repaired.grants.length).toBeGreaterThan(0);
        expect(await problems()).toEqual([]);
    });
});
