// Ownership by the object itself, not only its name (engine/migrate/identity.ts). The stack records
// each object's oid and where it means something; a recorded name that someone else created again
// (the stack's object dropped first) is the application's: rollback leaves it alone and says so,
// repair refuses before running anything, a migration that would change it is rolled back, and the
// preflight counts it as the application's. Records without an oid, or from another database, go by
// name as before. The first three tests come from attack4 (on 958da9d).
import type { Client } from "pg";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
    applyMigrations,
    describeVariant,
    ForeignObjectRemovedError,
    loadRollbackSql,
    readRecords,
    rollbackSchema,
    type ApplyOptions,
} from "../../engine/migrate/index";
import { ReusedObjectChangedError } from "../../engine/migrate/identity";
import { PreflightRefusedError } from "../../engine/migrate/preflight";
import type { SchemaOptions } from "../../engine/migrate/render";
import { RepairRefusedError } from "../../engine/migrate/repair";
import { expectationsFor } from "../../engine/verify/expected";
import { formatReport, verifySchema } from "../../engine/verify/index";
import { NOT_THE_STACKS } from "../../engine/verify/ownership";
import { DEFAULT_OPTIONS, migrationsFor } from "../support/apply-sql";
import { cli } from "../support/cli";
import { dropRoles, freshDatabase, sharedServer, type TestDatabase } from "../support/database";
import { databaseFingerprint } from "../support/database-fingerprint";

let db: TestDatabase;
let client: Client;
const schema: SchemaOptions = {
    ...DEFAULT_OPTIONS,
    appRole: `${DEFAULT_OPTIONS.appRole}_reuse`,
    adminRole: `${DEFAULT_OPTIONS.adminRole}_reuse`,
};
const { appRole: app, adminRole: admin } = schema;

beforeEach(async () => {
    db = await freshDatabase("reused_names");
    client = await db.connect();
});

afterEach(async () => {
    await db.drop();
    await dropRoles(sharedServer(), [app, admin]);
});

const apply = async (options: Partial<ApplyOptions> = {}, migrations = migrationsFor(schema)) =>
    applyMigrations(await db.connect(), migrations, {
        variant: describeVariant(schema),
        schema,
        grantRoles: true,
        connect: () => db.connect(),
        ...options,
    });

const rollback = async () =>
    rollbackSchema(await db.connect(), { rollbackSql: loadRollbackSql(), defaults: schema, connect: () => db.connect() });

const outcome = (promise: Promise<{ repaired: { missing: string[]; alsoCreated: string[] } }>) =>
    promise.then(
        (result) => `repaired: ${[...result.repaired.missing, ...result.repaired.alsoCreated].join(", ")}`,
        (error: Error) => `refused: ${error.message}`,
    );

const rows = async (sql: string, values: unknown[] = []) => (await client.query(sql, values)).rows;

// The application takes over three recorded names: the admin role (with a login), a view and a function.
async function reuseRoleViewFunction(): Promise<void> {
    await client.query(`drop owned by ${admin}; drop role ${admin}; create role ${admin} login`);
    await client.query("drop view public.user_session_stats; create view public.user_session_stats as select 1 as app_owned");
    await client.query(
        "drop function public.close_stale_sessions(interval); " +
            "create function public.close_stale_sessions(max_age interval) returns int language sql as 'select 42'",
    );
}

const REUSED = ['function public.close_stale_sessions("interval")', `role ${admin}`, "view public.user_session_stats"];

async function appObjectsStillThere(): Promise<void> {
    expect(await rows("select rolcanlogin from pg_roles where rolname = $1", [admin])).toEqual([{ rolcanlogin: true }]);
    expect(await rows("select * from public.user_session_stats")).toEqual([{ app_owned: 1 }]);
    expect(await rows("select public.close_stale_sessions('1 hour') as n")).toEqual([{ n: 42 }]);
}

describe("apply --repair after the app role was dropped", () => {
    // attack4: the application, after `drop owned by` removed the stack's sessions_own_rows with the
    // role, wrote a policy of its own under that name; repair re-ran 0009_rls.sql, whose `drop policy
    // if exists` replaced it. Now repair refuses before running anything, naming it, and changes nothing.
    it("refuses, naming a policy the application wrote under a freed stack name, and changes nothing", async () => {
        await apply();
        await client.query(`drop owned by ${app}; drop role ${app}`);
        await client.query(`create policy sessions_own_rows on public.sessions for select to ${admin} using (agent_name = 'app-owned')`);
        const before = await databaseFingerprint(client, [app, admin]);

        const refusal = await apply({ repair: true }).catch((error: unknown) => error);

        expect(refusal).toBeInstanceOf(RepairRefusedError);
        expect((refusal as Error).message).toContain("policy public.sessions.sessions_own_rows (created by 0009_rls.sql)");
        expect((refusal as Error).message).toContain(
            "not the stack's any more: created again by someone else after the stack's was dropped",
        );
        expect((refusal as Error).message).toContain("Nothing was run. Rename or drop the application's object and repair again");
        expect(await databaseFingerprint(client, [app, admin])).toEqual(before);
        expect(await rows("select pg_get_expr(polqual, polrelid) as qual from pg_policy where polname = 'sessions_own_rows'")).toEqual([
            { qual: "(agent_name = 'app-owned'::text)" },
        ]);

        // Out of the way, repair goes ahead and the policy it writes is the stack's again: rollback drops it.
        await client.query("drop policy sessions_own_rows on public.sessions");
        expect(await outcome(apply({ repair: true }))).toContain("policy public.sessions.sessions_own_rows");
        expect((await rollback()).reused).toEqual([]);
        expect(await rows("select polname from pg_policy where polname = 'sessions_own_rows'")).toEqual([]);
    });

    // attack4: the app role existed before the first apply (not recorded as the stack's); dropped, then
    // repaired: repair creates it (0009's `create role if not exists`, nologin) and must say so.
    it("names a role of the application's that it created because it was missing", async () => {
        await client.query(`create role ${app} nologin`);
        await apply();
        expect((await readRecords(client)).map((record) => record.identity)).not.toContain(`role ${app}`);
        await client.query(`drop owned by ${app}; drop role ${app}`);
        const told = await outcome(apply());
        expect(told).toContain("If the role was your application's own (with a login and a password), create it again yourself first");

        const result = await outcome(apply({ repair: true }));

        expect(result).toContain(`role ${app}`);
    });

    it("re-running a migration that drops and creates its own objects keeps them the stack's", async () => {
        await apply();
        await client.query("drop policy sessions_admin_all on public.sessions");

        expect(await outcome(apply({ repair: true }))).toBe("repaired: policy public.sessions.sessions_admin_all");

        // 0009 dropped and created every policy again, under new oids: the records follow them.
        const result = await rollback();
        expect(result.reused).toEqual([]);
        expect(await rows("select polname from pg_policy")).toEqual([]);
    });
});

describe("a stack role dropped, then created again by the application itself", () => {
    // attack4: the application's login role, under the name the records give the stack's, was dropped by rollback.
    it("is not dropped by rollback", async () => {
        await apply();
        await client.query(`drop owned by ${app}; drop role ${app}`);
        await client.query(`create role ${app} login`);
        await apply();

        const result = await rollback();

        expect(await rows("select rolcanlogin from pg_roles where rolname = $1", [app])).toEqual([{ rolcanlogin: true }]);
        expect(result.reused).toEqual([`role ${app}`]);
    });
});

describe("rollback with recorded names the application took over", () => {
    it("leaves the application's role, view and function, reports each, and drops the rest with the bookkeeping", async () => {
        await apply();
        await reuseRoleViewFunction();

        const result = await rollback();

        expect(result.reused.sort()).toEqual(REUSED);
        expect(result.kept).toEqual([]);
        await appObjectsStillThere();
        expect(await rows("select to_regclass('public.sessions') as sessions, to_regnamespace('memory_stack') as ledger")).toEqual([
            { sessions: null, ledger: null },
        ]);
        expect(await rows("select rolname from pg_roles where rolname = $1", [app])).toEqual([]);
    });

    it("leaves a table the application created again under a memory table's name, its rows not counted as the stack's", async () => {
        await apply();
        await client.query("drop table public.cognitive_metrics cascade");
        await client.query("create table public.cognitive_metrics (note text); insert into public.cognitive_metrics values ('a'), ('b')");

        const result = await rollback();

        expect(result.reused).toEqual(["table public.cognitive_metrics"]);
        expect(result.rowCounts).not.toHaveProperty("cognitive_metrics");
        expect(await rows("select note from public.cognitive_metrics order by note")).toEqual([{ note: "a" }, { note: "b" }]);
        expect(await rows("select to_regclass('public.sessions') as sessions")).toEqual([{ sessions: null }]);
    });

    it("are named by `memory-stack rollback`, in its text and its JSON", async () => {
        await apply();
        await reuseRoleViewFunction();
        const flags = ["--app-role", app, "--admin-role", admin];

        const text = await cli(["rollback", ...flags], { DATABASE_URL: db.url });
        expect(text.code, text.stderr).toBe(0);
        expect(text.stdout).toContain(
            `left alone (not the stack's: created again by someone else after the stack's was dropped): view public.user_session_stats, function public.close_stale_sessions("interval"), role ${admin}; ` +
                "their records were dropped, so they are the application's now",
        );

        // A name left to the application is the application's: the next apply refuses it until it is out of the way.
        await client.query("drop view public.user_session_stats; drop function public.close_stale_sessions(interval)");
        await apply();
        await client.query("drop view public.user_session_stats; create view public.user_session_stats as select 1 as app_owned");
        const json = await cli(["rollback", "--json", ...flags], { DATABASE_URL: db.url });
        expect(json.code, json.stderr).toBe(0);
        expect(JSON.parse(json.stdout)).toMatchObject({ rolledBack: true, kept: [], reused: ["view public.user_session_stats"] });
    });

    it("rollback.sql run on its own (psql -1 -f) leaves them too, with a notice for each", async () => {
        await apply();
        await reuseRoleViewFunction();
        const notices: string[] = [];
        client.on("notice", (notice) => notices.push(notice.message ?? ""));

        await client.query(`begin; ${loadRollbackSql()}; commit`);

        await appObjectsStillThere();
        expect(notices.filter((notice) => notice.startsWith("left ")).sort()).toEqual(
            REUSED.map((identity) => `left ${identity} alone: created again by someone else after the stack's was dropped`),
        );
        expect(await rows("select to_regclass('public.sessions') as sessions, to_regnamespace('memory_stack') as ledger")).toEqual([
            { sessions: null, ledger: null },
        ]);
    });

    // Pulumi state keeps the rollback.sql of the up that wrote it; one from before oids drops by name. The
    // engine takes the reused names out of the records before any script runs.
    it("leaves them even when the rollback.sql run is an older one that drops by name", async () => {
        const older = loadRollbackSql().replace(/-- Where the recorded oids mean something[\s\S]*?where c\.position = any\(reused\);/, "");
        expect(older).not.toContain("current_oid");
        await apply();
        await reuseRoleViewFunction();

        const result = await rollbackSchema(await db.connect(), { rollbackSql: older, defaults: schema, connect: () => db.connect() });

        expect(result.reused.sort()).toEqual(REUSED);
        await appObjectsStillThere();
    });

    for (const [what, change] of [
        ["whose records came from another database (a restore elsewhere)", "update memory_stack.created_objects set origin = '1/1'"],
        [
            "whose records carry no oid (written before oids were recorded)",
            "update memory_stack.created_objects set oid = null, origin = null",
        ],
        ["whose ownership table predates oids", "alter table memory_stack.created_objects drop column oid, drop column origin"],
    ]) {
        it(`goes by name alone in a database ${what}, as before`, async () => {
            await apply();
            await client.query("drop view public.user_session_stats; create view public.user_session_stats as select 1 as app_owned");
            await client.query(change);

            const result = await rollback();

            expect(result.reused).toEqual([]);
            expect(await rows("select to_regclass('public.user_session_stats') as view")).toEqual([{ view: null }]);
        });
    }
});

describe("an ownership table from before oids", () => {
    it("is upgraded by the next repair, whose records carry oids again", async () => {
        await apply();
        await client.query("alter table memory_stack.created_objects drop column oid, drop column origin");
        expect((await readRecords(client)).every((record) => record.oid === null && record.origin === null)).toBe(true);
        await client.query("drop policy sessions_admin_all on public.sessions");

        expect(await outcome(apply({ repair: true }))).toBe("repaired: policy public.sessions.sessions_admin_all");

        const records = await readRecords(client);
        const policy = records.find((record) => record.identity === "policy public.sessions.sessions_admin_all")!;
        const [{ oid }] = await rows("select oid::bigint::int as oid from pg_policy where polname = 'sessions_admin_all'");
        expect(policy.oid).toBe(oid);
        expect(policy.origin).toMatch(/^-?\d+\/\d+$/);
        expect(records.find((record) => record.identity === "table public.sessions")!.oid).toBeNull();
    });
});

describe("apply with a recorded name the application took over", () => {
    it("refuses a pending migration, naming the object as the application's", async () => {
        const all = migrationsFor(schema);
        await apply(
            { grantRoles: false },
            all.slice(
                0,
                all.findIndex((migration) => migration.name === "0007_maintenance.sql"),
            ),
        );
        await client.query("drop view public.user_session_stats; create view public.user_session_stats as select 1 as app_owned");
        const before = await databaseFingerprint(client, [app, admin]);

        const refusal = await apply().catch((error: unknown) => error);

        expect(refusal).toBeInstanceOf(PreflightRefusedError);
        expect((refusal as Error).message).toContain(
            "- view public.user_session_stats: was created again by someone else after the stack's was dropped, so it is not the stack's",
        );
        expect(await databaseFingerprint(client, [app, admin])).toEqual(before);
    });
});

describe("verify with a recorded name the application took over", () => {
    it("reports it as not the stack's, even with the stack's very definition, and grants nothing on it; an application's role under the stack's name is used as it is", async () => {
        await apply();
        const expected = await expectationsFor(schema, migrationsFor(schema));
        expect((await verifySchema(client, expected)).problems).toEqual([]);
        const [{ definition, options }] = await rows(
            "select pg_get_viewdef(oid) as definition, array_to_string(reloptions, ', ') as options from pg_class where oid = 'public.user_session_stats'::regclass",
        );
        await client.query(`drop view public.user_session_stats; create view public.user_session_stats with (${options}) as ${definition}`);
        await client.query(`drop owned by ${admin}; drop role ${admin}; create role ${admin} login`);
        // Repair re-creates the admin policies the drop took, with the application's role as it is, and grants it.
        expect(await outcome(apply({ repair: true }))).toContain("policy public.sessions.sessions_admin_all");

        const report = await verifySchema(client, expected);

        // (The roles lack their grants on it: verification lists those too.)
        expect(report.problems.filter((problem) => problem.kind !== "privilege")).toEqual([
            { kind: "view", name: "public.user_session_stats", issue: NOT_THE_STACKS },
        ]);
        // The grants went to the application's role on the stack's objects, never on the application's view.
        expect(
            await rows(
                "select has_table_privilege($1, 'public.memory_operation_summary', 'select') as stack, " +
                    "has_table_privilege($1, 'public.user_session_stats', 'select') as app",
                [admin],
            ),
        ).toEqual([{ stack: true, app: false }]);
        expect(formatReport(report)).toContain(
            "view public.user_session_stats: not the stack's: created again by someone else after the stack's was dropped. " +
                "The stack never takes over an object it did not create: rename or drop it, then `memory-stack apply --repair`",
        );
        expect(report.roundTrips.catalog).toBe(2);
    });
});

describe("a migration over a recorded name", () => {
    const own = (name: string, sql: string) => ({ name, sql, checksum: name });
    const first = own("0001_notes.sql", "create table notes (id int); create policy notes_read on notes for select using (true)");
    const applyOwn = async (...migrations: ReturnType<typeof own>[]) =>
        applyMigrations(await db.connect(), migrations, { variant: "test", connect: () => db.connect() });

    it("is refused when it would replace what the application created again under it", async () => {
        await applyOwn(first);
        await client.query("drop policy notes_read on notes; create policy notes_read on notes for select using (id > 0)");

        const refusal = await applyOwn(
            first,
            own(
                "0002_notes_policy.sql",
                "drop policy if exists notes_read on notes; create policy notes_read on notes for select using (true)",
            ),
        ).catch((error: unknown) => error);

        expect(refusal).toBeInstanceOf(ReusedObjectChangedError);
        expect((refusal as Error).message).toContain(
            "0002_notes_policy.sql changed policy public.notes.notes_read, which is not the stack's",
        );
        expect(await rows("select pg_get_expr(polqual, polrelid) as qual from pg_policy where polname = 'notes_read'")).toEqual([
            { qual: "(id > 0)" },
        ]);
    });

    it("is refused, nothing built, when a concurrent index build finds its recorded index created again by someone else", async () => {
        const build = (name: string) =>
            own(name, "-- step: build no transaction\ncreate index concurrently if not exists notes_id on notes (id);");
        await applyOwn(first, build("0002_notes_index.sql"));
        await client.query("drop index notes_id; create index notes_id on notes (id) where id > 0");

        const refusal = await applyOwn(first, build("0002_notes_index.sql"), build("0003_notes_index_again.sql")).catch(
            (error: unknown) => error,
        );

        expect((refusal as Error).message).toContain(
            "0003_notes_index_again.sql step build: index public.notes_id is not the stack's: it was created again by someone else",
        );
        expect(
            await rows("select pg_get_expr(indpred, indrelid) as predicate from pg_index where indexrelid = 'notes_id'::regclass"),
        ).toEqual([{ predicate: "(id > 0)" }]);
    });

    it("is refused when it drops and creates again an object the stack never created", async () => {
        await applyOwn(first);
        await client.query("create table app_notes (id int); create policy app_read on app_notes for select using (id > 0)");

        const refusal = await applyOwn(
            first,
            own(
                "0002_app_policy.sql",
                "drop policy if exists app_read on app_notes; create policy app_read on app_notes for select using (true)",
            ),
        ).catch((error: unknown) => error);

        expect(refusal).toBeInstanceOf(ForeignObjectRemovedError);
        expect((refusal as Error).message).toContain(
            "0002_app_policy.sql removed policy public.app_notes.app_read, which the stack did not create",
        );
    });
});
