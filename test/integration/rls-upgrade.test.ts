// 0011_claim_binding and 0012_hardening on a database that a release-2 stack migrated (0001–0010,
// with rows and an application that still sets plain claims), as the next `pulumi up` applies them:
// only those two run, every row stays, the schema's own auth.uid() takes request_user_id's body, the
// session key becomes per-user, and verification passes once the roles have their grants. An
// application foreign key on sessions(session_id) keeps the old key, with a notice.
import type { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyMigrations, describeVariant, readLedger } from "../../engine/migrate/index";
import { verifySchema } from "../../engine/verify/index";
import { expectationsFor } from "../../engine/verify/expected";
import { migrationsFor } from "../support/apply-sql";
import { grantStackPrivileges, schemaDatabase, type SchemaDatabase } from "../support/schema-db";

const A = "00000000-0000-4000-8000-00000000000a";
const B = "00000000-0000-4000-8000-00000000000b";
const RELEASE_2 = (name: string) => name < "0011";

async function release2(schema: SchemaDatabase): Promise<void> {
    const migrations = migrationsFor(schema.options).filter((m) => RELEASE_2(m.name));
    await applyMigrations(schema.client, migrations, { variant: describeVariant(schema.options) });
    await schema.client.query("insert into users (id) values ($1), ($2)", [A, B]);
    await schema.client.query("insert into sessions (session_id, user_id, agent_name) values ('a-1', $1, 'x'), ('b-1', $2, 'x')", [A, B]);
    await schema.client.query("insert into memory_logs (user_id, agent_name, operation) select user_id, 'x', 'write' from sessions");
}

async function counts(client: Client): Promise<Record<string, number>> {
    const { rows } = await client.query(
        "select (select count(*)::int from sessions) as sessions, (select count(*)::int from memory_logs) as memory_logs, (select count(*)::int from users) as users",
    );
    return rows[0];
}

describe("a database migrated by release 2, upgraded", () => {
    let schema: SchemaDatabase;
    let before: Record<string, number>;
    let applied: string[];
    beforeAll(async () => {
        schema = await schemaDatabase("rls_upgrade", {}, false);
        await release2(schema);
        before = await counts(schema.client);
        const result = await applyMigrations(schema.client, migrationsFor(schema.options), { variant: describeVariant(schema.options) });
        applied = result.applied.map((m) => m.name);
        await grantStackPrivileges(schema.client, schema.options);
    });
    afterAll(async () => {
        await schema?.drop();
    });

    it("applies only the two new migrations and keeps every row", async () => {
        expect(applied.filter((name) => name < "0013")).toEqual(["0011_claim_binding.sql", "0012_hardening.sql"]);
        expect(await counts(schema.client)).toEqual(before);
        expect((await readLedger(schema.client)).map((row) => row.name)).toContain("0012_hardening.sql");
    });

    it("gives the auth.uid() release 2 created the body of request_user_id, so a session-level claim no longer counts", async () => {
        const { rows } = await schema.client.query(
            "select (select prosrc from pg_proc where oid = 'auth.uid()'::regprocedure) = (select prosrc from pg_proc where oid = 'memory_stack.request_user_id()'::regprocedure) as same",
        );
        expect(rows[0].same).toBe(true);
    });

    it("keys sessions per user: the old key is gone, the new one holds", async () => {
        const { rows } = await schema.client.query(
            "select conname from pg_constraint where conrelid = 'sessions'::regclass and contype = 'u' order by 1",
        );
        expect(rows.map((r) => r.conname)).toEqual(["sessions_user_id_session_id_key"]);
    });

    it("verifies once the roles hold their grants", async () => {
        const report = await verifySchema(schema.client, await expectationsFor(schema.options, migrationsFor(schema.options)));
        expect(report.problems).toEqual([]);
        expect(report.ok).toBe(true);
    });
});

describe("a release-2 database where an application table references sessions(session_id)", () => {
    it("keeps the old key for it, with a notice, and adds the per-user one", async () => {
        const schema = await schemaDatabase("rls_upgrade_fk", {}, false);
        try {
            await release2(schema);
            await schema.client.query("create table app_notes (session_key text references sessions (session_id))");
            const notices: string[] = [];
            schema.client.on("notice", (notice) => notices.push(notice.message ?? ""));

            await applyMigrations(schema.client, migrationsFor(schema.options), { variant: describeVariant(schema.options) });

            const { rows } = await schema.client.query(
                "select conname from pg_constraint where conrelid = 'sessions'::regclass and contype = 'u' order by 1",
            );
            expect(rows.map((r) => r.conname)).toEqual(["sessions_session_id_key", "sessions_user_id_session_id_key"]);
            expect(notices.join("\n")).toContain("kept sessions_session_id_key");
        } finally {
            await schema.drop();
        }
    });
});
