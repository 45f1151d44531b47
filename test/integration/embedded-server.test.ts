import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freshDatabase, type TestDatabase } from "../support/database";

describe("the test run's embedded PostgreSQL", () => {
    let db: TestDatabase;
    beforeAll(async () => {
        db = await freshDatabase("smoke");
    });
    afterAll(async () => db?.drop());

    it("is PostgreSQL 15 and gives each caller its own database", async () => {
        const client = await db.connect();
        const { rows } = await client.query("select current_setting('server_version_num')::int as version, current_database() as name");
        expect(Math.floor(rows[0].version / 10000)).toBe(15);
        expect(rows[0].name).toBe(db.name);
    });
});
