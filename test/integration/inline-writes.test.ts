// A migration's records and ledger row are sent with its commit as statements with their values
// written in (ledger.ts inlined), so any text a name or an option can hold must arrive exactly as it
// was: quotes, backslashes, "$2" inside a value, non-ASCII, with standard_conforming_strings either way.
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyMigrations, readRecords } from "../../engine/migrate/index";
import { inlined } from "../../engine/db/literal";
import { snapshot } from "../../engine/migrate/snapshot";
import { freshDatabase, type TestDatabase } from "../support/database";
import { migration } from "../support/migrations";

let db: TestDatabase;
let client: Client;

beforeAll(async () => {
    db = await freshDatabase("inline_writes");
    client = await db.connect();
});

afterAll(async () => {
    await db.drop();
});

const awkward = ["it's", "back\\slash", "ends with \\", "$2 and $1", "E'x'", "naïve ☃ 🐘", "", "--", "/* not a comment */", "line\nbreak"];

describe("inlined", () => {
    for (const conforming of ["on", "off"]) {
        it(`writes every value back exactly (standard_conforming_strings = ${conforming})`, async () => {
            await client.query(`set standard_conforming_strings = ${conforming}`);
            for (const text of awkward) {
                const values = [text, null, -5, 2.5, true, JSON.stringify({ text, list: [text] })];
                const sql = inlined(
                    "select $1::text as a, $2::text as b, $3::int as c, $4::float8 as d, $5::boolean as e, $6::jsonb as f",
                    values,
                );
                // ASCII alone: the server reads it the same whatever client_encoding a migration file left.
                expect(sql).toMatch(/^[\x20-\x7e\n]*$/);
                const row = (await client.query(sql)).rows[0];
                expect([row.a, row.b, row.c, row.d, row.e, row.f]).toEqual([text, null, -5, 2.5, true, { text, list: [text] }]);
            }
            await client.query("reset standard_conforming_strings");
        });
    }

    it("refuses what is not a scalar, rather than guess its SQL", () => {
        expect(() => inlined("select $1", [["a"]])).toThrow(/\$1 is not a scalar/);
        expect(() => inlined("select $1", [{ a: 1 }])).toThrow(/\$1 is not a scalar/);
        expect(() => inlined("select $1", [Number.NaN])).toThrow(/\$1 is not a scalar/);
    });
});

describe("an apply whose objects have awkward names", () => {
    it("records each under the identity the catalog gives it", async () => {
        const names = awkward.filter((name) => name !== "" && !name.includes("\n"));
        const sql = names.map(
            (name, i) =>
                `create table public."${name.replaceAll('"', '""')}" (id int);\ncreate function public."f${i} ${name}"(text) returns int language sql as 'select 1';\n`,
        );
        await applyMigrations(await db.connect(), [migration("0001_awkward.sql", sql.join(""))], {
            variant: "jsonb",
            connect: () => db.connect(),
        });

        const catalog = await snapshot(client);
        const recorded = await readRecords(client);
        expect(recorded).toHaveLength(names.length * 2);
        for (const record of recorded) {
            expect(catalog.get(record.identity)?.oid).toBe(record.oid);
        }
    });
});

describe("an apply into a SQL_ASCII database (a legacy application's), whose objects have names outside ASCII", () => {
    // \u escapes in a literal are refused there ("conversion between UTF8 and SQL_ASCII is not supported"): the bytes go in hex.
    it("records each under the identity the catalog gives it", async () => {
        const name = `${db.name}_ascii`;
        await client.query(`create database ${name} encoding 'SQL_ASCII' template template0 lc_collate 'C' lc_ctype 'C'`);
        // Every session on it is ended before it is dropped (dropping with force would end them under their clients).
        const opened: Client[] = [];
        const connect = async () => {
            const other = new Client({ ...db.config, database: name });
            await other.connect();
            opened.push(other);
            return other;
        };
        try {
            await applyMigrations(await connect(), [migration("0001_legacy.sql", 'create table public."naïve ☃ it\'s" (id int);\n')], {
                variant: "jsonb",
                connect,
            });
            const reader = await connect();
            expect((await readRecords(reader)).map((record) => record.identity)).toEqual([`table public."naïve ☃ it's"`]);
            expect((await snapshot(reader)).has(`table public."naïve ☃ it's"`)).toBe(true);
        } finally {
            await Promise.all(opened.map((other) => other.end().catch(() => undefined)));
            await client.query(`drop database ${name}`);
        }
    });
});
