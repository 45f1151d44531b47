// The collision matrix, through the CLI as a user runs it: for every name the memory schema would
// create (each of the seven tables, each view, each function, an index, a type) and for a users table
// whose memory column has another type, an application object already there makes `plan` exit 1
// listing it and `apply` refuse with the database unchanged — catalog and every row. Then, on a
// database where the application's objects were renamed out of the way, the stack deploys beside
// them and neither rollback nor rollback --allow-data-loss ever drops one of them.
import { afterAll, describe, expect, it } from "vitest";
import { expectedObjects, MEMORY_TABLES, VIEWS } from "../../engine/migrate/manifest";
import { applyMigrations } from "../../engine/migrate/index";
import { DEFAULT_SCHEMA_OPTIONS, loadMigrationSources, renderMigrations, type SchemaOptions } from "../../engine/migrate/render";
import { cli } from "../support/cli";
import { dropRoles, freshDatabase, sharedServer, type TestDatabase } from "../support/database";
import { databaseFingerprint } from "../support/database-fingerprint";

const FUNCTIONS = [
    ...new Set(
        expectedObjects(DEFAULT_SCHEMA_OPTIONS)
            .functions.filter((signature) => signature.startsWith("public."))
            .map((signature) => signature.slice("public.".length, signature.indexOf("("))),
    ),
];

interface Case {
    name: string;
    /** The application's object with the memory name. */
    setup: (name: string) => string;
    /** What plan and apply must list. */
    conflict: (name: string) => string;
}

const CASES: { what: string; names: readonly string[]; make: Case["setup"]; conflict: Case["conflict"] }[] = [
    {
        what: "table",
        names: MEMORY_TABLES,
        make: (name) =>
            `create table public.${name} (id bigserial primary key, note text); insert into public.${name} (note) select 'app row ' || i from generate_series(1, 3) i;`,
        conflict: (name) =>
            `- table public.${name} (3 rows): exists and is not the stack's, and the memory schema creates a table of that name.`,
    },
    {
        what: "view",
        names: VIEWS,
        make: (name) => `create view public.${name} as select 1 as one;`,
        conflict: (name) => `- view public.${name}: exists and is not the stack's, and the memory schema creates a view of that name.`,
    },
    {
        what: "function",
        names: FUNCTIONS,
        make: (name) => `create function public.${name}(x integer) returns integer language sql as 'select x';`,
        conflict: (name) =>
            `- function ${name}(integer): exists and is not the stack's, and the memory schema creates a function named public.${name}.`,
    },
    {
        what: "index",
        names: ["idx_sessions_status"],
        make: (name) =>
            `create table public.app_tickets_${name} (status text); create index ${name} on public.app_tickets_${name} (status);`,
        conflict: (name) => `- index public.${name}: exists and is not the stack's, and the memory schema creates an index of that name.`,
    },
    {
        what: "type",
        names: ["belief_graphs"],
        make: (name) => `create type public.${name} as enum ('fact', 'guess');`,
        conflict: (name) => `- type public.${name}: exists and is not the stack's, and the memory schema creates a table of that name.`,
    },
    {
        what: "users column of another type",
        names: ["memory_enabled"],
        make: (name) =>
            `create table public.users (id uuid primary key default gen_random_uuid(), email text, ${name} text);
             insert into public.users (email, ${name}) values ('a@example.com', 'yes'), ('b@example.com', 'no');`,
        conflict: (name) =>
            `- column public.users.${name} (text): the memory schema needs ${name} of type boolean and would use this column as it is.`,
    },
];

const migrationsFor = (options: SchemaOptions) => renderMigrations(loadMigrationSources(), options);

const databases: TestDatabase[] = [];
const roles: string[] = [];

afterAll(async () => {
    await Promise.all(databases.map((db) => db.drop()));
    await dropRoles(sharedServer(), roles);
});

async function target(prefix: string): Promise<{ db: TestDatabase; env: NodeJS.ProcessEnv; flags: string[]; roleNames: string[] }> {
    const db = await freshDatabase(prefix);
    databases.push(db);
    const roleNames = [`${db.name}_app`, `${db.name}_admin`];
    roles.push(...roleNames);
    return { db, env: { DATABASE_URL: db.url }, flags: ["--app-role", roleNames[0], "--admin-role", roleNames[1]], roleNames };
}

const matrix = CASES.flatMap((group) =>
    group.names.map((name) => ({ what: group.what, name, setup: group.make(name), conflict: group.conflict(name) })),
);

describe("an application object with a name the memory schema would create", () => {
    // Each case has a database of its own: they run a few at a time.
    it.concurrent.for(matrix)(
        "$what $name: plan exits 1 listing it, apply refuses and changes nothing",
        async ({ name, setup, conflict }, { expect }) => {
            const { db, env, flags, roleNames } = await target(`collide_${name}`);
            const client = await db.connect();
            await client.query(setup);
            const before = await databaseFingerprint(client, roleNames);

            const plan = await cli(["plan", ...flags], env);
            const apply = await cli(["apply", ...flags], env);

            expect(plan.code, plan.stderr).toBe(1);
            expect(plan.stdout).toContain("apply would refuse:");
            expect(plan.stdout).toContain(conflict);
            expect(apply.code).toBe(1);
            expect(apply.stderr).toContain("found before any change; nothing was changed.");
            expect(apply.stderr).toContain(conflict);
            expect(apply.stderr).not.toContain("applied 0001");
            expect(await databaseFingerprint(client, roleNames)).toEqual(before);
        },
    );
});

describe("a stack deployed beside the application's objects, renamed out of its way", () => {
    it("is never made to drop one of them, by rollback or by rollback --allow-data-loss", async () => {
        const { db, env, flags, roleNames } = await target("collide_renamed");
        const client = await db.connect();
        await client.query(matrix.map((entry, i) => entry.setup.replaceAll(entry.name, `app${i}_${entry.name}`)).join("\n"));
        // users (from the last case) is shared: the application's stays, with its rows, and gets the memory columns.
        const application = await databaseFingerprint(client, roleNames);

        expect((await cli(["plan", ...flags], env)).code).toBe(0);
        const apply = await cli(["apply", ...flags], env);
        expect(apply.code, apply.stderr).toBe(0);
        await client.query("insert into sessions (session_id, user_id, agent_name) select 's-1', id, 'sales' from users limit 1");
        await client.query("update users set memory_enabled = false where email = 'a@example.com'");
        const deployed = await databaseFingerprint(client, roleNames);

        const refused = await cli(["rollback"], env);
        expect(refused.code).toBe(1);
        expect(refused.stderr).toContain("refusing to roll back the memory schema: 1 row would be lost (sessions: 1)");
        expect(refused.stderr).toContain("1 non-default value in columns the stack added would be lost (users.memory_enabled: 1)");
        expect(await databaseFingerprint(client, roleNames)).toEqual(deployed);

        const allowed = await cli(["rollback", "--allow-data-loss"], env);
        expect(allowed.code, allowed.stderr).toBe(0);
        expect(allowed.stdout).toContain("rows dropped: sessions 1");
        expect(allowed.stdout).toContain("non-default values dropped: users.memory_enabled 1");
        expect(await databaseFingerprint(client, roleNames)).toEqual(application);
    });
});

describe("a partly applied stack, then application tables with memory names", () => {
    it("rolls back only what it recorded: the application's tables and rows are neither counted nor dropped", async () => {
        const { db, env, flags, roleNames } = await target("collide_partial");
        const client = await db.connect();
        const options = { ...DEFAULT_SCHEMA_OPTIONS, appRole: roleNames[0], adminRole: roleNames[1] };
        // 0001 and 0002 applied (as by an apply that stopped there), then the application creates its own tables.
        await applyMigrations(client, migrationsFor(options).slice(0, 2), { variant: "jsonb", schema: options });
        await client.query(`
            create table public.audit_logs (id bigserial primary key, actor text);
            insert into public.audit_logs (actor) select 'app-' || i from generate_series(1, 50) i;
            create table public.sessions (id bigserial primary key); create table public.goal_assessments (id serial primary key);`);
        const application = (await databaseFingerprint(client, roleNames)).filter((line) =>
            /audit_logs|sessions|goal_assessments/.test(line),
        );

        const status = await cli(["status", ...flags], env);
        expect(status.stdout).toContain("pending  0003_tables.sql");
        const rollback = await cli(["rollback"], env);

        expect(rollback.code, rollback.stderr).toBe(0);
        expect(rollback.stdout).toMatch(/^rolled back the memory schema in \d+ ms$/m);
        const after = await databaseFingerprint(client, roleNames);
        expect(after.filter((line) => /audit_logs|sessions|goal_assessments/.test(line))).toEqual(application);
        expect(after.some((line) => line.startsWith("relation public.users"))).toBe(false);
    });
});
