// attack9: a plain migration whose file changed client_encoding is refused right after its statements (apply-pending.ts);
// a transactional step was not: its catalog read after the statements came back in LATIN1, and the table it created was
// recorded as `table public."na�ve"`, a name no object has (rollback.sql drops by record: the table would stay), with
// the step and its migration committed.
import type { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyMigrations, readLedger, readRecords } from "../../engine/migrate/index";
import { readStepLedger } from "../../engine/migrate/step-ledger";
import { freshDatabase, type TestDatabase } from "../support/database";
import { migration } from "../support/migrations";

let db: TestDatabase;
let client: Client;

beforeAll(async () => {
    db = await freshDatabase("attack9_step_encoding");
    client = await db.connect();
});

afterAll(async () => {
    await db?.drop();
});

const apply = (sql: string) =>
    applyMigrations(client, [migration("0001_attack9_latin1.sql", sql)], { variant: "jsonb" }).then(
        () => undefined,
        (e: unknown) => e as Error,
    );

describe("a transactional step that changes client_encoding", () => {
    it("is refused naming the file and client_encoding; nothing applied, nothing recorded under a garbled name", async () => {
        const error = await apply(`-- step: one\nset client_encoding = 'LATIN1';\ncreate table public."naïve" (id int);\n`);

        expect(error?.message).toContain("0001_attack9_latin1.sql set client_encoding to LATIN1");
        expect(await readLedger(client)).toEqual([]);
        expect(await readStepLedger(client)).toEqual([]);
        expect(await readRecords(client)).toEqual([]);
        expect((await client.query(`select to_regclass('public."naïve"') as t`)).rows[0].t).toBeNull();
    });
});
