// A repeated apply grants nothing when the roles hold every privilege already (read as verification
// reads them), and grants again whatever they lost: after a revoke (of a table, a column of users, a
// maintenance function's EXECUTE) the next apply restores it and verification passes; a privilege held
// only through PUBLIC, a membership or a superuser admin counts as held, as it does for verification.
import type { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyMigrations, describeVariant, type ApplyOptions } from "../../engine/migrate/index";
import { USERS_MEMORY_COLUMNS } from "../../engine/migrate/manifest";
import { verifySchema } from "../../engine/verify/index";
import { expectationsFor } from "../../engine/verify/expected";
import { DEFAULT_OPTIONS, migrationsFor } from "../support/apply-sql";
import { cli } from "../support/cli";
import { dropRoles, freshDatabase, sharedServer, type TestDatabase } from "../support/database";

let db: TestDatabase;
let client: Client;
const { appRole: app, adminRole: admin } = DEFAULT_OPTIONS;

beforeAll(async () => {
    db = await freshDatabase("grants_held");
    client = await db.connect();
});

afterAll(async () => {
    await client?.query(`alter role ${admin} nosuperuser`).catch(() => undefined);
    await db.drop();
    await dropRoles(sharedServer(), [`${app}_group`, DEFAULT_OPTIONS.appRole, DEFAULT_OPTIONS.adminRole]);
});

const apply = async (options: Partial<ApplyOptions> = {}) =>
    applyMigrations(await db.connect(), migrationsFor(), {
        variant: describeVariant(DEFAULT_OPTIONS),
        schema: DEFAULT_OPTIONS,
        grantRoles: true,
        connect: () => db.connect(),
        ...options,
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

describe("a role dropped after an apply", () => {
    it("is named with what to do, nothing granted, and apply --repair re-creates it with its policies and grants again", async () => {
        await client.query(`drop owned by ${app}; drop role ${app}`);
        const error = await apply().then(
            () => undefined,
            (failure: unknown) => failure as Error,
        );
        expect(error?.name).toBe("GrantRoleMissingError");
        expect(error?.message).toContain(`role ${app} (appRole) does not exist`);
        expect(error?.message).toContain("memory-stack apply --repair");

        const repairing = await cli(["apply", "--repair", "--app-role", app, "--admin-role", admin], { DATABASE_URL: db.url });
        expect(repairing.code, repairing.stderr).toBe(0);
        expect(repairing.stderr).toContain(`repaired: re-created role ${app}`);
        expect(repairing.stderr).toMatch(/granted .* their privileges/);
        expect(await problems()).toEqual([]);
    });
});

describe("a function the schema created, dropped after an apply", () => {
    // From attack24: a plain apply then failed its grants with "run apply again", which fails the same way every time.
    it("fails a plain apply naming apply --repair, which re-creates it and grants again", async () => {
        await client.query("drop function public.close_session(uuid, text)");
        const failed = await cli(["apply", "--app-role", app, "--admin-role", admin], { DATABASE_URL: db.url });
        expect(failed.code).toBe(1);
        expect(failed.stderr).toContain('could not find a function named "public.close_session" (SQLSTATE 42883)');
        expect(failed.stderr).toContain("Run `memory-stack apply --repair`");
        expect(failed.stderr).not.toContain("run apply again");

        const repairing = await cli(["apply", "--repair", "--app-role", app, "--admin-role", admin], { DATABASE_URL: db.url });
        expect(repairing.code, repairing.stderr).toBe(0);
        expect(repairing.stderr).toContain("repaired: re-created function public.close_session(uuid,text)");
        expect(await problems()).toEqual([]);
    });
});

describe("an application's own app role, dropped after an apply", () => {
    // From a fresh-eyes attack: the role existed before the first apply (not recorded as the stack's); repair
    // re-runs the migration that creates a missing role, which then becomes the stack's. Said, never silent.
    it("is named by apply, and repair says it created the role and that rollback drops it", async () => {
        const own = await freshDatabase("grants_own_role");
        const schema = { ...DEFAULT_OPTIONS, appRole: `${DEFAULT_OPTIONS.appRole}_own`, adminRole: `${DEFAULT_OPTIONS.adminRole}_own` };
        const flags = ["--app-role", schema.appRole, "--admin-role", schema.adminRole];
        try {
            const owner = await own.connect();
            await owner.query(`create role ${schema.appRole} nologin`);
            expect((await cli(["apply", ...flags], { DATABASE_URL: own.url })).code).toBe(0);
            await owner.query(`drop owned by ${schema.appRole}; drop role ${schema.appRole}`);

            const refused = await cli(["apply", ...flags], { DATABASE_URL: own.url });
            expect(refused.code).toBe(1);
            expect(refused.stderr).toContain(`role ${schema.appRole} (appRole) does not exist`);
            expect(refused.stderr).toContain(
                "If the role was your application's own (with a login and a password), create it again yourself first.",
            );

            const repaired = await cli(["apply", "--repair", ...flags], { DATABASE_URL: own.url });
            expect(repaired.code, repaired.stderr).toBe(0);
            expect(repaired.stderr).toContain(
                `repair also created role ${schema.appRole}, which did not exist; recorded as the stack's, so rollback drops it`,
            );
        } finally {
            await own.drop();
            await dropRoles(sharedServer(), [schema.appRole, schema.adminRole]);
        }
    });
});
