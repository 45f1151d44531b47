import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DatabaseNotReadyError, waitForDatabase } from "../../engine/db/readiness";
import type { ConnectionSettings } from "../../engine/db/url";
import { freshDatabase, type TestDatabase } from "../support/database";
import { freePort, startEmbeddedPostgres } from "../support/embedded-server";
import { until } from "../support/poll";

describe("the readiness barrier", () => {
    let db: TestDatabase;
    let settings: ConnectionSettings;
    beforeAll(async () => {
        db = await freshDatabase("readiness");
        settings = db.settings;
    });
    afterAll(async () => db?.drop());

    it("returns once the configured database answers select 1", async () => {
        await expect(waitForDatabase(settings, { timeoutMs: 5_000 })).resolves.toBeUndefined();
    });

    it("waits for a server that is not started yet, then returns", async () => {
        const port = await freePort();
        const waits: string[] = [];
        const waiting = waitForDatabase(
            { ...settings, port, database: "postgres" },
            { timeoutMs: 60_000, onWait: (_attempt, last) => waits.push(last) },
        );
        // Start the server only once the barrier has seen it refuse at least once.
        await until("the barrier's first refused attempt", () => waits[0]);
        expect(waits[0]).toMatch(/ECONNREFUSED/);
        const late = await startEmbeddedPostgres({ port });
        try {
            await expect(waiting).resolves.toBeUndefined();
        } finally {
            await late.stop();
        }
    });

    it("fails fast with a clear error on a wrong password", async () => {
        const started = Date.now();
        const error = await waitForDatabase({ ...settings, password: "wrong-password" }, { timeoutMs: 30_000 }).catch((e) => e);
        expect(error).toBeInstanceOf(DatabaseNotReadyError);
        expect(error.message).toMatch(/password authentication failed.*28P01.*check the user, password and database/);
        expect(error.message).not.toContain("wrong-password");
        expect(Date.now() - started).toBeLessThan(10_000);
    });

    it("fails fast when the database does not exist", async () => {
        const error = await waitForDatabase({ ...settings, database: "no_such_db" }, { timeoutMs: 30_000 }).catch((e) => e);
        expect(error.message).toMatch(/database "no_such_db" does not exist \(SQLSTATE 3D000\)/);
    });

    it("gives up at its deadline and says what it last saw", async () => {
        const port = await freePort();
        const error = await waitForDatabase({ ...settings, port }, { timeoutMs: 700 }).catch((e) => e);
        expect(error).toBeInstanceOf(DatabaseNotReadyError);
        expect(error.message).toMatch(
            new RegExp(`127\\.0\\.0\\.1:${port}/${db.name} did not answer "select 1" after \\d+ attempts; last error: .*ECONNREFUSED`),
        );
    });
});
