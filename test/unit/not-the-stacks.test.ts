// What a memory schema migration's transaction created that is not the stack's (engine/migrate/not-the-stacks.ts).
import { describe, expect, it } from "vitest";
import { mentionedIn, notTheStacks } from "../../engine/migrate/not-the-stacks";
import type { CatalogObject } from "../../engine/migrate/snapshot";

function object(kind: CatalogObject["kind"], schema: string | null, name: string, parent: string | null = null): CatalogObject {
    const path = [schema, parent, name].filter((part) => part !== null).join(".");
    return { kind, schema, name, parent, arguments: null, identity: `${kind} ${path}`, oid: 1, created: true };
}

/** `written` judged, with `constraints` (and what was written) in the catalog after the statements. */
function judged(sql: string, written: CatalogObject[], stackTables: string[] = [], constraints: CatalogObject[] = []) {
    const lines: string[] = [];
    const session = { report: (line: string) => lines.push(line) };
    const not = notTheStacks("0003_t.sql", { sql, session }, written, new Set(stackTables), [...written, ...constraints]);
    return { not: not.map((o) => o.identity), lines };
}

describe("notTheStacks", () => {
    const sql = 'create table Sessions (id uuid primary key); create view "Summary" as select 1; -- users_memory_idx\n';

    it("keeps what the file names and the implicit parts of the stack's tables, and says nothing", () => {
        const { not, lines } = judged(
            sql,
            [
                object("table", "public", "sessions"),
                object("index", "public", "sessions_pkey", "sessions"),
                object("view", "public", "Summary"),
                object("index", "public", "goals_key_key", "goals"),
                object("constraint", "public", "goals_user_id_fkey", "goals"),
                object("column", "public", "derived", "goals"),
                object("sequence", "public", "goals_n_seq", "goals"),
                object("index", "public", "users_memory_idx", "users"),
            ],
            ["public.goals"],
            [object("constraint", "public", "sessions_pkey", "sessions"), object("constraint", "public", "goals_key_key", "goals")],
        );
        expect(not).toEqual([]);
        expect(lines).toEqual([]);
    });

    it("takes out a trigger, policy or index on the stack's tables that the file never names", () => {
        const { not } = judged(
            sql,
            [
                object("table", "public", "sessions"),
                object("trigger", "public", "audit_row", "sessions"),
                object("policy", "public", "audit_all", "goals"),
                object("index", "public", "goals_audited", "goals"),
            ],
            ["public.goals"],
        );
        expect(not).toEqual(["trigger public.sessions.audit_row", "policy public.goals.audit_all", "index public.goals.goals_audited"]);
    });

    it("takes out what is outside the memory schemas, what in public the file never names, and the parts of tables not the stack's", () => {
        const { not, lines } = judged(
            sql,
            [
                object("table", "audit", "sessions"),
                object("table", "public", "sessions_history"),
                object("index", "public", "sessions_history_pkey", "sessions_history"),
                object("function", "public", "summarize"),
                object("index", "public", "users_audited", "users"),
                object("schema", null, "audit"),
            ],
            [],
            [object("constraint", "public", "sessions_history_pkey", "sessions_history")],
        );
        expect(not).toEqual([
            "table audit.sessions",
            "table public.sessions_history",
            "function public.summarize",
            "schema audit",
            "index public.sessions_history.sessions_history_pkey",
            "index public.users.users_audited",
        ]);
        expect(lines).toEqual([
            `0003_t.sql: not recorded as the stack's, so rollback leaves them: ${not.join(", ")}, created in its transaction outside the ` +
                "schemas the memory schema creates in (public, memory_stack, auth), or in public under a name the file never mentions, by " +
                "an event trigger or a trigger of the application's",
        ]);
    });
});

describe("mentionedIn", () => {
    it("folds unquoted words to lower case, keeps quoted ones as written, and cuts names as PostgreSQL does", () => {
        const long = "a".repeat(70);
        const names = mentionedIn(`create table Ünïcode_t ("Mixed ""Case""" int); select ${long}`);
        expect(["ünïcode_t", 'Mixed "Case"', long.slice(0, 63)].filter((name) => !names.has(name))).toEqual([]);
        expect(names.has("Ünïcode_t")).toBe(false);
    });
});
