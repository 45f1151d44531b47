import { describe, expect, it } from "vitest";
import { isTransactionControl, splitStatements } from "../../../engine/migrate/statements";

const texts = (sql: string) => splitStatements(sql).map((statement) => statement.text);

describe("splitStatements", () => {
    it("splits on top-level semicolons and reports the line each statement starts on", () => {
        const statements = splitStatements("-- header\ncreate table a (id int);\n\n/* note */ insert into a values (1);\n");
        expect(statements.map(({ text, line }) => ({ text, line }))).toEqual([
            { text: "create table a (id int)", line: 2 },
            { text: "insert into a values (1)", line: 4 },
        ]);
    });

    it("keeps semicolons inside strings, quoted identifiers, comments and dollar quotes", () => {
        expect(texts(`select 'a;b', "c;d" from t; -- x;y\nselect $$ e; $$, $tag$ f; $$ g; $tag$; /* h; /* nested; */ i; */ select 1`)).toEqual([
            `select 'a;b', "c;d" from t`,
            "select $$ e; $$, $tag$ f; $$ g; $tag$",
            "select 1",
        ]);
    });

    it("honours doubled quotes and backslash escapes in E-strings", () => {
        expect(texts(`select 'it''s;'; select E'a\\';b'; select 2`)).toEqual([`select 'it''s;'`, `select E'a\\';b'`, "select 2"]);
    });

    it("keeps a begin atomic function body whole, as psql does", () => {
        const sql = "create or replace function f(x int) returns int language sql begin atomic select case when x > 0 then 1 else 0 end; select 2; end; select 3;";
        expect(texts(sql)).toEqual([
            "create or replace function f(x int) returns int language sql begin atomic select case when x > 0 then 1 else 0 end; select 2; end",
            "select 3",
        ]);
    });

    it("drops empty statements and trailing comments", () => {
        expect(texts(";; select 1;\n-- the end\n")).toEqual(["select 1"]);
    });

    it("does not mistake a positional parameter or an identifier with $ for a dollar quote", () => {
        expect(texts("prepare p as select $1; select a$b$ from t; select 2")).toEqual(["prepare p as select $1", "select a$b$ from t", "select 2"]);
    });
});

describe("isTransactionControl", () => {
    it("recognises statements that would break the engine's own transaction", () => {
        expect(["begin", "COMMIT", "commit work", "start transaction", "rollback", "end"].every(isTransactionControl)).toBe(true);
        expect(["begin atomic select 1; end", "create table commits (id int)", "rollback to savepoint a"].some(isTransactionControl)).toBe(false);
    });
});
