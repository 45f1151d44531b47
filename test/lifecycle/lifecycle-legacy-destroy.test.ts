// `pulumi destroy` of a stack a release 2 deployed, on a database where that release took over the
// application's sessions table, from that release's own state: its stub and outputs, whose
// rollbackSql dropped the memory names whoever created them. Today's provider never runs that text:
// it rolls back what the database records (after the adoption rule), so the application's table and
// rows survive, and what the stack did create is gone.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrationsFor } from "../support/apply-sql";
import { Lifecycle, memoryProgram, startLifecycle, type ResourceState } from "../support/lifecycle";
import { urnFor } from "../support/provider-host";
import { migrateLikeRelease2 } from "../support/release2";
import { schemaDatabase, type SchemaDatabase } from "../support/schema-db";

const STUBS = JSON.parse(readFileSync(join(__dirname, "..", "fixtures", "provider-stubs.json"), "utf8")) as {
    release2: { schemaMigration: string };
};

// What release 2's rollback.sql began with: the seven tables dropped by name.
const RELEASE2_ROLLBACK = [
    "audit_logs",
    "cognitive_metrics",
    "belief_graphs",
    "goal_assessments",
    "memory_logs",
    "agent_executions",
    "sessions",
]
    .map((table) => `drop table if exists public.${table};`)
    .join("\n");

let schema: SchemaDatabase;
let life: Lifecycle;

beforeAll(async () => {
    [schema, life] = await Promise.all([schemaDatabase("lifecycle_legacy", {}, false), startLifecycle()]);
    await schema.client.query(`create table public.sessions (id uuid primary key default gen_random_uuid(), title text not null);
        insert into public.sessions (title) values ('kickoff'), ('retro')`);
    await migrateLikeRelease2(schema.client, migrationsFor(schema.options));
});

afterAll(async () => {
    await life?.host.stop();
    await schema?.drop();
});

describe("destroying a release 2 stack from its own state", () => {
    it("never runs the rollbackSql in that state, and keeps the application's sessions", async () => {
        const [resource] = await memoryProgram({ connection: schema.db.settings, schema: schema.options, allowDataLoss: true });
        const urn = urnFor(resource.type, "memory-schema");
        const { objects: _objects, locks: _locks, schema: _schema, ...inputs } = await life.host.check(urn, {}, resource.inputs);
        const state: ResourceState = {
            id: "memory-stack-schema",
            urn,
            inputs: { ...inputs, __provider: STUBS.release2.schemaMigration },
            outputs: {
                ...inputs,
                rollbackSql: RELEASE2_ROLLBACK,
                memoryTables: [
                    "audit_logs",
                    "cognitive_metrics",
                    "belief_graphs",
                    "goal_assessments",
                    "memory_logs",
                    "agent_executions",
                    "sessions",
                ],
                __provider: STUBS.release2.schemaMigration,
                stateVersion: 2,
                version: "0003_tables.sql",
                appliedMigrations: ["0001_foundation.sql", "0002_users.sql", "0003_tables.sql"],
            },
            secretOutputs: ["connection"],
        };
        life.state.set("memory-schema", state);

        await life.destroy();

        expect((await schema.client.query("select title from sessions order by title")).rows).toEqual([
            { title: "kickoff" },
            { title: "retro" },
        ]);
        const tables = await schema.client.query(
            "select string_agg(relname, ',' order by relname) as names from pg_class where relnamespace = 'public'::regnamespace and relkind = 'r'",
        );
        expect(tables.rows[0].names).toBe("sessions");
        expect((await schema.client.query("select to_regnamespace('memory_stack') as bookkeeping")).rows[0].bookkeeping).toBeNull();
    });
});
