// Migrations run with a search_path the engine sets (public, then the schema of an installed
// uuid-ossp or vector), whatever the database's own says; what would still fail is refused by the
// preflight, naming it, before any change. And a users that is not a table, or whose id foreign keys
// cannot reference, is refused up front.
import type { Client } from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { cli } from "../support/cli";
import { dropRoles, freshDatabase, sharedServer, type TestDatabase } from "../support/database";
import { databaseFingerprint } from "../support/database-fingerprint";

const databases: TestDatabase[] = [];
const roles: string[] = [];

afterAll(async () => {
    await Promise.all(databases.map((db) => db.drop()));
    await dropRoles(sharedServer(), roles);
});

async function database(
    prefix: string,
    setup: string,
): Promise<{ db: TestDatabase; client: Client; run: (command: string) => ReturnType<typeof cli> }> {
    const db = await freshDatabase(prefix);
    databases.push(db);
    const roleNames = [`${db.name}_app`, `${db.name}_admin`];
    roles.push(...roleNames);
    const client = await db.connect();
    await client.query(setup.replaceAll("<db>", `"${db.name}"`));
    const run = (command: string) => cli([command, "--app-role", roleNames[0], "--admin-role", roleNames[1]], { DATABASE_URL: db.url });
    return { db, client, run };
}

/** The schema of the function each id default calls: sessions' and users'. */
async function idDefaults(client: Client): Promise<string[]> {
    const result = await client.query<{ schema: string }>(
        `select p.pronamespace::regnamespace::text as schema from pg_attrdef f
           join pg_depend d on d.classid = 'pg_attrdef'::regclass and d.objid = f.oid and d.refclassid = 'pg_proc'::regclass
           join pg_proc p on p.oid = d.refobjid
          where f.adrelid in ('public.sessions'::regclass, 'public.users'::regclass) and f.adnum = 1 order by f.adrelid::regclass::text`,
    );
    return result.rows.map((row) => row.schema);
}

describe("a database whose search_path puts an application schema first", () => {
    it("gets uuid-ossp in public, nothing in the application's schema", async () => {
        const { client, run } = await database("path_app_first", "create schema app; alter database <db> set search_path = app, public");

        const apply = await run("apply");

        expect(apply.code, apply.stderr).toBe(0);
        const placed =
            await client.query(`select (select extnamespace::regnamespace::text from pg_extension where extname = 'uuid-ossp') as uuid_ossp,
                (select count(*)::int from pg_proc where pronamespace = 'app'::regnamespace) as in_app`);
        expect(placed.rows[0]).toEqual({ uuid_ossp: "public", in_app: 0 });
    });

    it("applies beside the application's own app.uuid_generate_v4(), which it neither replaces nor calls", async () => {
        const { client, run } = await database(
            "path_app_function",
            `create schema app; alter database <db> set search_path = app, public;
             create function app.uuid_generate_v4() returns uuid language sql as 'select null::uuid'`,
        );

        const plan = await run("plan");
        const apply = await run("apply");

        expect(plan.code, plan.stdout).toBe(0);
        expect(apply.code, apply.stderr).toBe(0);
        expect(await idDefaults(client)).toEqual(["public", "public"]);
        expect(
            (await client.query("select prosrc from pg_proc where proname = 'uuid_generate_v4' and pronamespace = 'app'::regnamespace"))
                .rows,
        ).toEqual([{ prosrc: "select null::uuid" }]);
    });
});

describe("uuid-ossp installed in a schema that is not on the search_path", () => {
    it("is found there: the id defaults call it and apply goes through", async () => {
        const { client, run } = await database("path_ext_schema", 'create schema ext; create extension "uuid-ossp" schema ext');

        const apply = await run("apply");

        expect(apply.code, apply.stderr).toBe(0);
        expect(await idDefaults(client)).toEqual(["ext", "ext"]);
    });

    it("is refused by plan and apply, nothing changed, when an application's public.uuid_generate_v4() would be called instead", async () => {
        const { client, run } = await database(
            "path_shadowed",
            `create schema ext; create extension "uuid-ossp" schema ext;
             create function public.uuid_generate_v4() returns uuid language sql as 'select gen_random_uuid()'`,
        );
        const before = await databaseFingerprint(client);

        const plan = await run("plan");
        const apply = await run("apply");

        const conflict =
            "- function public.uuid_generate_v4(): is not uuid-ossp's (uuid-ossp is installed in schema ext), and the migrations run with " +
            "search_path public, ext: their calls to uuid_generate_v4() would resolve to it. Rename the application's object or move it out of schema public";
        expect(plan.code).toBe(1);
        expect(plan.stdout).toContain(conflict);
        expect(apply.code).toBe(1);
        expect(apply.stderr).toContain(conflict);
        expect(await databaseFingerprint(client)).toEqual(before);
    });
});

describe("uuid-ossp not installed, with application functions of its names in public", () => {
    it("is refused by plan before apply would fail installing it, naming each function", async () => {
        const { client, run } = await database(
            "path_collision",
            `create function public.uuid_generate_v4() returns uuid language sql as 'select gen_random_uuid()';
             create function public.uuid_nil() returns uuid language sql as 'select null::uuid'`,
        );
        const before = await databaseFingerprint(client);

        const plan = await run("plan");

        expect(plan.code).toBe(1);
        expect(plan.stdout).toContain(
            "- function public.uuid_generate_v4(): exists and is not uuid-ossp's: installing uuid-ossp into schema public, where the memory schema puts it, " +
                "would fail on it. Rename the application's object or move it out of schema public\n",
        );
        expect(plan.stdout).toContain(
            "- function public.uuid_nil(): exists and is not uuid-ossp's: installing uuid-ossp into schema public, where the memory schema puts it, " +
                'would fail on it. Rename the application\'s object or move it out of schema public, or install uuid-ossp into another schema first (create extension "uuid-ossp" schema <schema>)',
        );
        expect(await databaseFingerprint(client)).toEqual(before);
    });
});

describe("a users that is a view", () => {
    it("is refused by plan and apply, saying it is a view and what to do", async () => {
        const { client, run } = await database(
            "path_users_view",
            "create table app_users (id uuid primary key); create view users as select * from app_users",
        );
        const before = await databaseFingerprint(client);

        const plan = await run("plan");
        const apply = await run("apply");

        const conflict =
            "- view public.users: is a view, not a table: the memory tables reference users(id) with foreign keys and the memory schema adds its columns to users, " +
            "so users must be the table that holds your users. Rename the view out of the way and the table behind it to users " +
            "(alter view public.users rename to ...; alter table ... rename to users), or deploy the memory schema into a database of its own";
        expect(plan.code).toBe(1);
        expect(plan.stdout).toContain(conflict);
        expect(apply.code).toBe(1);
        expect(apply.stderr).toContain(conflict);
        expect(apply.stderr).not.toContain("add primary key");
        expect(await databaseFingerprint(client)).toEqual(before);
    });
});

describe("a users whose id is unique only through a deferrable constraint", () => {
    it("is refused by plan and apply before any change, saying how to add what a foreign key can reference", async () => {
        const { client, run } = await database(
            "users_deferrable_id",
            "create table users (id uuid not null, email text, constraint users_id_uq unique (id) deferrable initially deferred)",
        );
        const before = await databaseFingerprint(client);

        const plan = await run("plan");
        const apply = await run("apply");

        const conflict =
            "- table public.users: users.id is unique only through the deferrable constraint users_id_uq, and foreign keys cannot reference a deferrable constraint. " +
            "Add a unique index checked at once beside it (create unique index on public.users (id)), or make users.id the primary key";
        expect(plan.code).toBe(1);
        expect(plan.stdout).toContain(conflict);
        expect(apply.code).toBe(1);
        expect(apply.stderr).toContain(conflict);
        expect(await databaseFingerprint(client)).toEqual(before);

        await client.query("create unique index on public.users (id)");
        expect((await run("apply")).code).toBe(0);
    });
});
