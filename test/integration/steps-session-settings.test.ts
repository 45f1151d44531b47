// A transactional step's records go with its COMMIT as SQL text with their values written in (literal.ts
// inlined), like a plain migration's: names must arrive exactly as they are, and a step that changes
// client_encoding (the catalog after its statements then comes back in that encoding) is refused, not
// recorded under garbled names. The socket check is set for each step's transaction alone.
import type { Client } from "pg";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { applyMigrations, readLedger, readRecords, type MigrationFile } from "../../engine/migrate/index";
import { readStepLedger } from "../../engine/migrate/step-ledger";
import { freshDatabase, type TestDatabase } from "../support/database";
import { migration } from "../support/migrations";

let db: TestDatabase;
let client: Client;

beforeEach(async () => {
    db = await freshDatabase("steps_settings");
    client = await db.connect();
});

afterEach(async () => {
    await db.drop();
});

const recorded = async () => (await readRecords(client)).map((record) => record.identity);

async function apply(migrations: MigrationFile[], migrating?: Client): Promise<Error | undefined> {
    return applyMigrations(migrating ?? (await db.connect()), migrations, { variant: "jsonb", connect: () => db.connect() }).then(
        () => undefined,
        (error: unknown) => error as Error,
    );
}

describe("a transactional step's records, written in with its COMMIT", () => {
    it("keep names with quotes, backslashes and non-ASCII exactly", async () => {
        const name = "it's \\ naïve ☃ $1";
        const error = await apply([
            migration(
                "0001_names.sql",
                `-- step: first\ncreate table public.plain (id int);\n-- step: awkward\ncreate table public."${name}" (id int);\n`,
            ),
        ]);

        expect(error).toBeUndefined();
        expect(await recorded()).toEqual(["table public.plain", `table public."${name}"`]);
        expect((await readLedger(client)).map((row) => row.name)).toEqual(["0001_names.sql"]);
    });

    it("are refused when the step set client_encoding, naming it: the step rolled back, the one before it kept", async () => {
        const migrating = await db.connect();
        const error = await apply(
            [
                migration(
                    "0001_latin1.sql",
                    `-- step: first\ncreate table public.kept (id int);\n-- step: latin\nset client_encoding = 'LATIN1';\ncreate table public."naïve" (id int);\n`,
                ),
            ],
            migrating,
        );

        expect(error?.message).toContain("0001_latin1.sql step latin was rolled back");
        expect(error?.message).toContain("client_encoding");
        expect(await recorded()).toEqual(["table public.kept"]);
        expect((await readStepLedger(client)).map((row) => [row.step, row.finished])).toEqual([["first", true]]);
        expect(await readLedger(client)).toEqual([]);
        expect((await client.query(`select to_regclass('public."naïve"') as t`)).rows[0].t).toBeNull();
        expect((await migrating.query("show client_encoding")).rows[0].client_encoding).toBe("UTF8");
    });
});

describe("the socket check (client_connection_check_interval)", () => {
    it("is on in a step's transaction and as it was in the session after the steps", async () => {
        const migrating = await db.connect();
        const error = await apply(
            [
                migration(
                    "0001_check.sql",
                    `-- step: first\ncreate table public.seen (setting text);\n-- step: second\ninsert into public.seen select current_setting('client_connection_check_interval');\n`,
                ),
            ],
            migrating,
        );

        expect(error).toBeUndefined();
        expect((await client.query("select setting from public.seen")).rows).toEqual([{ setting: "1s" }]);
        expect((await migrating.query("show client_connection_check_interval")).rows[0].client_connection_check_interval).toBe("0");
    });
});
