// The verification engine against a real PostgreSQL 15 (JSONB variant): a freshly applied schema
// passes, each deliberate breakage is found and named, an empty database reports everything
// missing, and verification leaves no trace.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client } from "pg";
import { applyMigrations, describeVariant } from "../../engine/migrate/index";
import { MEMORY_TABLES, tableColumns } from "../../engine/migrate/manifest";
import type { SchemaOptions } from "../../engine/migrate/render";
import { formatReport, verifySchema, type VerificationReport } from "../../engine/verify/index";
import { expectationsFor } from "../../engine/verify/expected";
import { DEFAULT_OPTIONS, migrationsFor } from "../support/apply-sql";
import { freshDatabase } from "../support/database";
import { grantStackPrivileges, schemaDatabase, type SchemaDatabase } from "../support/schema-db";
import { createApplicationTables, firstApplicationUser } from "../support/seed-application";
import { databaseTrace } from "../support/verify-trace";

/** What `pulumi up` does to the database: the migrations, then the Grants component's grants. */
async function applyWithLedger(client: Client, options: SchemaOptions): Promise<void> {
    await applyMigrations(client, migrationsFor(options), { variant: describeVariant(options) });
    await grantStackPrivileges(client, options);
}

async function verify(schema: SchemaDatabase, client: Client = schema.client): Promise<VerificationReport> {
    return verifySchema(client, await expectationsFor(schema.options, migrationsFor(schema.options)));
}

/** The report's problems as "kind name", for toContain. */
function named(report: VerificationReport): string[] {
    return report.problems.map((problem) => `${problem.kind} ${problem.name}`);
}

describe("a JSONB schema freshly applied by the migration engine", () => {
    let schema: SchemaDatabase;
    beforeAll(async () => {
        schema = await schemaDatabase("verify_fresh", {}, false);
        await applyWithLedger(schema.client, schema.options);
    });
    afterAll(async () => {
        await schema?.drop();
    });

    it("passes, with the seed's counts, in one catalog round trip", async () => {
        const report = await verify(schema);

        expect(report.problems).toEqual([]);
        expect(report.skipped).toEqual([]);
        expect(report.ok).toBe(true);
        expect(report.applied).toBe(true);
        expect(report.variant).toBe("jsonb");
        expect(report.counts).toMatchObject({
            tables: 7,
            views: 3,
            functions: 4,
            triggers: 4,
            indexes: 49,
            extensions: 1,
            policies: 14,
            rlsTables: 7,
        });
        // maintenance 3, match_* 2, embedding_search, embedding_derived, derive_embedding_columns, auth.uid, request_user_id, bind_user, trust_plain_claims
        expect(report.counts.otherFunctions).toBe(12);
        expect(report.counts.otherTriggers).toBe(2); // the derived embedding columns' triggers
        expect(report.checksPassed).toBeGreaterThanOrEqual(14);
        expect(report.roundTrips.catalog).toBeLessThanOrEqual(3);
        console.log(
            `verification on the test database: ${report.durationMs} ms, round trips: catalog ${report.roundTrips.catalog}, ` +
                `behaviour checks ${report.roundTrips.functional} (${report.checksPassed} checks)`,
        );
    });

    it("finds exactly the columns the manifest lists in each memory table", async () => {
        const { rows } = await schema.client.query<{ table_name: string; columns: string[] }>(
            `select table_name, array_agg(column_name::text order by ordinal_position) as columns from information_schema.columns
             where table_schema = 'public' and table_name = any($1) group by table_name`,
            [MEMORY_TABLES],
        );

        expect(Object.fromEntries(rows.map((row) => [row.table_name, row.columns]))).toEqual(
            Object.fromEntries(MEMORY_TABLES.map((table) => [table, tableColumns(schema.options)[table]])),
        );
    });

    it("leaves no trace: rows, sequences, ledger, grants and memberships as before, no transaction or lock open", async () => {
        const observer = await schema.db.connect();
        const before = await databaseTrace(observer);
        const verifier = await schema.db.connect({ application_name: "memory-stack-verify-trace" });
        const {
            rows: [{ pid }],
        } = await verifier.query<{ pid: number }>("select pg_backend_pid() as pid");

        const report = await verify(schema, verifier);

        expect(report.ok).toBe(true);
        expect(await databaseTrace(observer)).toEqual(before);
        const activity = await observer.query("select state, xact_start from pg_stat_activity where pid = $1", [pid]);
        expect(activity.rows).toEqual([{ state: "idle", xact_start: null }]);
        const locks = await observer.query("select locktype, mode from pg_locks where pid = $1", [pid]);
        expect(locks.rows).toEqual([]);
    });
});

describe("privileges as deployed", () => {
    let schema: SchemaDatabase;
    beforeAll(async () => {
        schema = await schemaDatabase("verify_privileges", {}, false);
        await applyMigrations(schema.client, migrationsFor(schema.options), { variant: describeVariant(schema.options) });
    });
    afterAll(async () => {
        await schema?.drop();
    });

    it("fails a schema whose roles hold no grants, naming what each lacks, and skips the checks as those roles", async () => {
        const { appRole, adminRole } = schema.options;
        const report = await verify(schema);

        expect(report.ok).toBe(false);
        const privileges = report.problems.filter((problem) => problem.kind === "privilege");
        expect(privileges.map((problem) => problem.name)).toEqual([appRole, adminRole]);
        expect(privileges[0].issue).toContain(`grant select, insert, update, delete on table "public"."belief_graphs"`);
        expect(privileges[1].issue).toContain(`grant select on table "public"."users" to "${adminRole}"`);
        expect(report.problems.filter((problem) => problem.kind === "check")).toEqual([]);
        expect(report.skipped.map((check) => check.reason)).toEqual(
            expect.arrayContaining([`needs privileges ${appRole}, which is missing or broken`]),
        );
        expect(formatReport(report)).toContain("the roles listed cannot use it");
    });

    it("grants nothing to itself or the roles, not even inside its rolled-back transaction", async () => {
        const sent: string[] = [];
        const recording = {
            query: (text: string, ...rest: unknown[]) => {
                sent.push(typeof text === "string" ? text : JSON.stringify(text));
                return (schema.client.query as (...args: unknown[]) => unknown)(text, ...rest);
            },
        } as unknown as Client;
        await grantStackPrivileges(schema.client, schema.options);

        const report = await verify(schema, recording);

        expect(report.problems).toEqual([]);
        expect(sent.length).toBeGreaterThan(10);
        expect(sent.filter((text) => /\b(grant|revoke|alter\s+(role|default))\b/i.test(text.replace(/'[^']*'/g, "")))).toEqual([]);
    });

    it("fails an app role that holds the plain-claim switch, which would let a session-level id count for the next client", async () => {
        const { appRole } = schema.options;
        await schema.client.query(`grant execute on function memory_stack.trust_plain_claims() to "${appRole}"`);
        try {
            const report = await verify(schema);
            expect(report.ok).toBe(false);
            expect(report.problems).toEqual([
                expect.objectContaining({
                    kind: "privilege",
                    name: appRole,
                    issue: expect.stringContaining("EXECUTE on memory_stack.trust_plain_claims"),
                }),
            ]);
        } finally {
            await schema.client.query(`revoke execute on function memory_stack.trust_plain_claims() from "${appRole}"`);
        }
    });
});

describe("a schema applied beside the seed's application tables", () => {
    it("passes by borrowing two existing users, and leaves their rows and sequences as they were", async () => {
        const schema = await schemaDatabase("verify_app", {}, false);
        try {
            await createApplicationTables(schema.client);
            await schema.client.query(
                "create table visits (id bigserial primary key, user_id uuid references users on delete cascade); " +
                    "alter table users add column visit_no serial",
            );
            await applyWithLedger(schema.client, schema.options);
            // The borrowed users already have memory of their own, which the checks must neither count as theirs nor change.
            const borrowed = await firstApplicationUser(schema.client);
            await schema.client.query(
                `insert into sessions (session_id, user_id, agent_name, status) values
                ('live-1', $1, 'sales', 'completed'), ('live-2', $1, 'sales', 'active')`,
                [borrowed],
            );
            await schema.client.query("insert into goal_assessments (user_id, agent_name, goal_text) values ($1, 'sales', 'buy a robot')", [
                borrowed,
            ]);
            const before = await databaseTrace(schema.client);

            const report = await verify(schema);

            expect(report.problems).toEqual([]);
            expect(report.ok).toBe(true);
            expect(await databaseTrace(schema.client)).toEqual(before);
        } finally {
            await schema.drop();
        }
    });
});

// Each breakage on its own freshly applied database; the report names the object.
const breakages: { what: string; sql: string; names: string[] }[] = [
    { what: "a dropped index", sql: "drop index idx_sessions_status", names: ["index sessions.idx_sessions_status"] },
    {
        what: "a dropped trigger",
        sql: "drop trigger update_sessions_updated_at on sessions",
        names: ["trigger sessions.update_sessions_updated_at"],
    },
    {
        what: "a disabled trigger",
        sql: "alter table agent_executions disable trigger calculate_agent_execution_duration",
        names: ["trigger agent_executions.calculate_agent_execution_duration"],
    },
    { what: "a dropped view", sql: "drop view user_session_stats", names: ["view user_session_stats"] },
    {
        what: "a function replaced by a wrong body",
        sql:
            "create or replace function public.get_active_session(user_id uuid, agent_name text) returns uuid language sql stable " +
            "set search_path = '' as $$ select null::uuid $$",
        names: ["function public.get_active_session(user_id uuid, agent_name text)"],
    },
    {
        what: "RLS disabled on one table",
        sql: "alter table goal_assessments disable row level security",
        names: ["rls goal_assessments", "check row level security: as {app}, a user sees and writes only its own rows"],
    },
    {
        what: "a dropped policy",
        sql: "drop policy belief_graphs_own_rows on belief_graphs",
        names: ["policy belief_graphs.belief_graphs_own_rows"],
    },
    {
        what: "the uuid-ossp extension dropped (with the id defaults that use it)",
        sql: 'drop extension "uuid-ossp" cascade',
        names: ["extension uuid-ossp"],
    },
    { what: "a column dropped from a table", sql: "alter table sessions drop column metadata", names: ["column sessions.metadata"] },
];

describe.each(breakages)("a schema with $what", ({ sql, names }) => {
    let schema: SchemaDatabase;
    let report: VerificationReport;
    beforeAll(async () => {
        schema = await schemaDatabase("verify_broken", {}, false);
        await applyWithLedger(schema.client, schema.options);
        await schema.client.query(sql);
        report = await verify(schema);
    });
    afterAll(async () => {
        await schema?.drop();
    });

    it("fails, naming what is wrong in one report", () => {
        expect(report.ok).toBe(false);
        const expected = names.map((name) => name.replace("{app}", schema.options.appRole));
        expect(named(report)).toEqual(expect.arrayContaining(expected));
        for (const name of expected) {
            expect(formatReport(report)).toContain(name.replace(/^check /, "check failed: "));
        }
    });
});

describe("a database with no memory schema at all", () => {
    it("reports every object missing without crashing, and says to apply the schema", async () => {
        const db = await freshDatabase("verify_empty");
        try {
            const client = await db.connect();
            const expected = await expectationsFor(DEFAULT_OPTIONS, migrationsFor());

            const report = await verifySchema(client, expected);

            const m = expected.manifest;
            expect(report.ok).toBe(false);
            expect(report.applied).toBe(false);
            expect(named(report)).toEqual(
                expect.arrayContaining([
                    "extension uuid-ossp",
                    "table users",
                    ...m.tables.map((t) => `table ${t}`),
                    ...m.views.map((v) => `view ${v}`),
                    ...m.functions.map((f) => `function ${f}`),
                    ...m.triggers.map((t) => `trigger ${t.table}.${t.name}`),
                    ...m.indexes.map((i) => `index ${i.table}.${i.name}`),
                    ...m.policies.map((p) => `policy ${p.table}.${p.name}`),
                ]),
            );
            expect(report.problems.filter((p) => p.kind === "check")).toEqual([]);
            expect(report.checksPassed).toBe(0);
            expect(formatReport(report)).toContain("never applied");
        } finally {
            await db.drop();
        }
    });
});
