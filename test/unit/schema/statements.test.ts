import { describe, expect, it } from "vitest";
import { loadMigrationSources } from "../../../engine/migrate/render";
import { isTransactionControl, splitStatements, SqlSyntaxError } from "../../../engine/migrate/statements";

const texts = async (sql: string) => (await splitStatements(sql)).map((statement) => statement.text);

describe("splitStatements (PostgreSQL's own parser)", () => {
    it("splits on top-level semicolons and reports the line each statement starts on", async () => {
        const statements = await splitStatements("-- header\ncreate table a (id int);\n\n/* note */ insert into a values (1);\n");
        expect(statements.map(({ text, line, kind }) => ({ text, line, kind }))).toEqual([
            { text: "create table a (id int)", line: 2, kind: "CreateStmt" },
            { text: "insert into a values (1)", line: 4, kind: "InsertStmt" },
        ]);
    });

    it("keeps semicolons inside strings, quoted identifiers, comments and dollar quotes", async () => {
        expect(
            await texts(`select 'a;b', "c;d" from t; -- x;y\nselect $$ e; $$, $tag$ f; $$ g; $tag$; /* h; /* nested; */ i; */ select 1`),
        ).toEqual([`select 'a;b', "c;d" from t`, "select $$ e; $$, $tag$ f; $$ g; $tag$", "select 1"]);
    });

    it("honours doubled quotes and backslash escapes in E-strings", async () => {
        expect(await texts(`select 'it''s;'; select E'a\\';b'; select 2`)).toEqual([`select 'it''s;'`, `select E'a\\';b'`, "select 2"]);
    });

    it("keeps a begin atomic function body whole", async () => {
        const sql =
            "create or replace function f(x int) returns int language sql begin atomic select case when x > 0 then 1 else 0 end; select 2; end; select 3;";
        expect(await texts(sql)).toEqual([
            "create or replace function f(x int) returns int language sql begin atomic select case when x > 0 then 1 else 0 end; select 2; end",
            "select 3",
        ]);
    });

    it("counts characters, not bytes, after text in other scripts", async () => {
        const statements = await splitStatements("-- naïve — ünïcode ✓\nselect 'é';\nselect 2;");
        expect(statements.map(({ text, line }) => ({ text, line }))).toEqual([
            { text: "select 'é'", line: 2 },
            { text: "select 2", line: 3 },
        ]);
    });

    it("drops empty statements and trailing comments", async () => {
        expect(await texts(";; select 1;\n-- the end\n")).toEqual(["select 1"]);
    });

    it("refuses text that is not SQL, naming the line", async () => {
        const error = await splitStatements("select 1;\n\nselec 2;").catch((e: unknown) => e);
        expect(error).toBeInstanceOf(SqlSyntaxError);
        expect((error as SqlSyntaxError).message).toBe('syntax error at line 3: syntax error at or near "selec"');
    });

    it("cuts every file in sql/ into statements that each parse alone as the same one statement", async () => {
        for (const { name, text } of loadMigrationSources()) {
            const rendered = text.replace(/\{\{\s*(\w+)\s*\}\}/g, (_, key: string) =>
                key.endsWith("_name")
                    ? "'r'"
                    : ({
                          vector_dimensions: "3",
                          vector_index: "hnsw",
                          vector_ann_cast: "::halfvec(3)",
                          vector_ann_ops: "halfvec_cosine_ops",
                      }[key] ?? '"r"'),
            );
            for (const statement of await splitStatements(rendered)) {
                const alone = await splitStatements(statement.text);
                expect(
                    alone.map((s) => s.kind),
                    `${name} line ${statement.line}`,
                ).toEqual([statement.kind]);
                expect(rendered.slice(statement.offset, statement.offset + statement.text.length)).toBe(statement.text);
            }
        }
    });
});

describe("isTransactionControl", () => {
    it("recognises statements that would break the engine's own transaction, and only those", async () => {
        const kinds = async (sql: string) => (await splitStatements(sql)).map(isTransactionControl);
        expect(await kinds("begin; COMMIT; commit work; start transaction; rollback; end; abort")).toEqual([
            true,
            true,
            true,
            true,
            true,
            true,
            true,
        ]);
        expect(
            await kinds(
                "create function f() returns int language sql begin atomic select 1; end; create table commits (id int); savepoint a; rollback to savepoint a",
            ),
        ).toEqual([false, false, false, false]);
    });
});
