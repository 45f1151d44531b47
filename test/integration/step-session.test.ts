// withSessionSettings (engine/migrate/step-session.ts) reads and sets the settings in one statement; a
// value the server refuses (as a platform that cannot check sockets refuses client_connection_check_interval)
// leaves that setting as it was and the others still set; a setting the server does not know is left alone;
// all are given back afterwards, after a failing work too.
import type { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withSessionSettings } from "../../engine/migrate/step-session";
import { freshDatabase, type TestDatabase } from "../support/database";

let db: TestDatabase;
let client: Client;

beforeAll(async () => {
    db = await freshDatabase("step_session");
    client = await db.connect();
    await client.query("set lock_timeout = '7s'; set statement_timeout = '8s'");
});

afterAll(async () => {
    await db?.drop();
});

const current = async () =>
    (
        await client.query<{ lock_timeout: string; statement_timeout: string }>(
            "select current_setting('lock_timeout') as lock_timeout, current_setting('statement_timeout') as statement_timeout",
        )
    ).rows[0];

describe("session settings for a step", () => {
    it("are set for the work and given back after it", async () => {
        const during = await withSessionSettings(client, { lock_timeout: "1500ms", statement_timeout: "0", no_such_setting: "1" }, current);

        expect(during).toEqual({ lock_timeout: "1500ms", statement_timeout: "0" });
        expect(await current()).toEqual({ lock_timeout: "7s", statement_timeout: "8s" });
    });

    it("leave a refused value's setting as it was and set the others, then give them back, after a failing work too", async () => {
        let during: Awaited<ReturnType<typeof current>> | undefined;
        // lock_timeout -5 is refused as an invalid value (SQLSTATE 22023).
        const work = withSessionSettings(client, { lock_timeout: "-5", statement_timeout: "1234" }, async () => {
            during = await current();
            throw new Error("the work failed");
        });

        await expect(work).rejects.toThrow("the work failed");
        expect(during).toEqual({ lock_timeout: "7s", statement_timeout: "1234ms" });
        expect(await current()).toEqual({ lock_timeout: "7s", statement_timeout: "8s" });
    });
});
