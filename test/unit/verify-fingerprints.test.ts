// What "the deployed version" of a function or trigger is, read from the rendered migrations.
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { expectedObjects } from "../../engine/migrate/manifest";
import { functionName } from "../../engine/verify/expected";
import { fingerprintMigrations } from "../../engine/verify/fingerprints";
import { DEFAULT_OPTIONS, migrationsFor } from "../support/apply-sql";

const md5 = (text: string) => createHash("md5").update(text).digest("hex");

describe("fingerprintMigrations on the real migrations", () => {
    for (const vector of [false, true]) {
        it(`proves every function the manifest lists except the conditional auth.uid() (${vector ? "vector" : "jsonb"})`, async () => {
            const fingerprints = await fingerprintMigrations(migrationsFor({ vector }));
            const listed = expectedObjects({ ...DEFAULT_OPTIONS, vector }).functions.map(functionName);

            const proven = new Set(Object.keys(fingerprints.functions).map(functionName));

            expect(listed.filter((name) => !proven.has(name))).toEqual(["auth.uid"]);
        });
    }

    it("takes the similarity functions from the vector migration in the vector variant", async () => {
        for (const [vector, migration] of [
            [false, "0014_similarity_jsonb_fast.sql"],
            [true, "0017_similarity_vector.sql"],
        ] as const) {
            const { functions } = await fingerprintMigrations(migrationsFor({ vector }));
            const embedding = vector ? "vector" : "jsonb";
            expect([
                functions[`public.match_goals(${embedding},int4,uuid,int4,bool)`].migration,
                functions[`public.embedding_search(text,${embedding},int4,uuid,int4,bool)`].migration,
            ]).toEqual([migration, migration]);
        }
    });

    it("reads each memory table column's type as its create table names it", async () => {
        const { columns } = await fingerprintMigrations(migrationsFor());

        expect(columns?.sessions).toMatchObject({
            context: { type: "jsonb", migration: "0003_tables.sql" },
            started_at: { type: "timestamptz" },
        });
        expect(columns?.agent_executions?.cost_usd).toMatchObject({ type: "pg_catalog.numeric" });
        expect(columns?.goal_assessments?.tags).toMatchObject({ type: "text[]" });
    });

    it("reads each memory table's named checks and its columns' foreign keys with their on delete", async () => {
        const { constraints } = await fingerprintMigrations(migrationsFor());
        const of = (table: string) =>
            constraints?.filter((c) => c.table === table).map(({ name, kind, onDelete }) => ({ name, kind, onDelete }));

        expect(of("sessions")).toEqual([
            { name: "user_id → users", kind: "foreign key", onDelete: "c" },
            { name: "sessions_status_check", kind: "check", onDelete: undefined },
        ]);
        expect(of("audit_logs")).toEqual([{ name: "user_id → users", kind: "foreign key", onDelete: "n" }]);
    });

    it("reads each trigger's table, firing and function", async () => {
        const { triggers } = await fingerprintMigrations(migrationsFor());

        expect(triggers.update_sessions_updated_at).toEqual({
            table: "sessions",
            tgtype: 1 | 2 | 16,
            function: "public.update_updated_at_column",
            when: false,
            columns: [],
            migration: "0005_functions_triggers.sql",
        });
        expect(triggers.calculate_agent_execution_duration).toMatchObject({
            table: "agent_executions",
            tgtype: 1 | 2 | 4 | 16,
            function: "public.calculate_execution_duration",
        });
    });
});

describe("fingerprintMigrations on small migrations", () => {
    it("reads a trigger's when condition and the columns an update must touch", async () => {
        const { triggers } = await fingerprintMigrations([
            {
                name: "0001_t.sql",
                sql: "create trigger t before insert or update of b, a on app.t for each row when (new.a > 0) execute function app.f();",
            },
        ]);

        expect(triggers.t).toMatchObject({ when: true, columns: ["b", "a"] });
    });

    it("fingerprints the text between the dollar quotes, which is what pg_proc.prosrc holds", async () => {
        const body = "\nbegin\n    return 1;\nend\n";
        const { functions } = await fingerprintMigrations([
            {
                name: "0001_f.sql",
                sql: `create or replace function app.one() returns int language plpgsql security definer set search_path = '' as $fn$${body}$fn$;`,
            },
        ]);

        expect(functions["app.one()"]).toEqual({ bodyMd5: md5(body), securityDefiner: true, volatility: "v", migration: "0001_f.sql" });
    });

    it("keeps the last definition, forgets a dropped function and ignores one created inside a do block", async () => {
        const { functions } = await fingerprintMigrations([
            {
                name: "0001_a.sql",
                sql: "create function f() returns int language sql as $$ select 1 $$;\ncreate function g() returns int language sql as $$ select 1 $$;",
            },
            {
                name: "0002_b.sql",
                sql:
                    "create or replace function public.f() returns int language sql as $$ select 2 $$;\ndrop function if exists g();\n" +
                    "do $$ begin create function h() returns int language sql as $b$ select 3 $b$; end $$;",
            },
        ]);

        expect(Object.keys(functions)).toEqual(["public.f()"]);
        expect(functions["public.f()"]).toMatchObject({ bodyMd5: md5(" select 2 "), migration: "0002_b.sql" });
    });

    it("keys each overload by its input argument types, as the catalog names them, and drops only the one named", async () => {
        const { functions } = await fingerprintMigrations([
            {
                name: "0001_a.sql",
                sql: [
                    "create function app.f(a integer, out b real[], variadic c text[]) language sql as $$ select 1 $$",
                    "create function app.f(x double precision, y public.vector, z bit varying) returns int language sql as $$ select 2 $$",
                    "create function app.f(t timestamp with time zone) returns table (n int) language sql as $$ select 3 $$",
                    "create function app.g(int) returns int language sql as $$ select 4 $$",
                ].join(";\n"),
            },
            {
                name: "0002_b.sql",
                sql: [
                    "create or replace function app.f(a int, out b real[], variadic c text[]) language sql as $$ select 5 $$",
                    "drop function app.f(timestamptz)",
                    "drop function app.g",
                ].join(";\n"),
            },
        ]);

        expect(Object.fromEntries(Object.entries(functions).map(([key, f]) => [key, f.migration]))).toEqual({
            "app.f(int4,text[])": "0002_b.sql",
            "app.f(float8,vector,varbit)": "0001_a.sql",
        });
    });

    it("packs timing, events and level like pg_trigger.tgtype and forgets a dropped trigger", async () => {
        const { triggers } = await fingerprintMigrations([
            {
                name: "0001_t.sql",
                sql: [
                    "create trigger a after insert or delete on public.t for each statement execute procedure public.f()",
                    "create trigger b instead of update on v for each row execute function f()",
                    'create trigger c before truncate on "T" execute function f()',
                    "create trigger d before update of x, y on t for each row execute function f()",
                    'drop trigger if exists c on "T"',
                ].join(";\n"),
            },
        ]);

        expect(Object.fromEntries(Object.entries(triggers).map(([name, t]) => [name, [t.table, t.tgtype]]))).toEqual({
            a: ["t", 4 | 8],
            b: ["v", 1 | 64 | 16],
            d: ["t", 1 | 2 | 16],
        });
    });
});
