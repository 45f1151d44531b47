// A run's commits do not each wait for the WAL flush (bounded.ts); the release of the migration lock
// flushes them all (lock.ts), before the run returns. Proven on a server of its own whose WAL writer
// waits 10 s between flushes, crashed (immediate shutdown: its unwritten WAL buffers are gone) right
// after an apply returns: every migration the apply reported is still there after the restart.
import { describe, expect, it } from "vitest";
import { applyMigrations, readLedger, readRecords } from "../../engine/migrate/index";
import { slowWalServer } from "../support/slow-wal-server";
import { migration } from "../support/migrations";

const { server, connect } = slowWalServer();

describe("an apply followed at once by a server crash", () => {
    it("keeps every migration it reported applied, with its records", async () => {
        const files = Array.from({ length: 5 }, (_, i) => migration(`000${i + 1}_t.sql`, `create table public.durable_${i} (id int);\n`));
        const migrating = await connect();
        const result = await applyMigrations(migrating, files, { variant: "jsonb" });
        expect(result.applied.map((item) => item.name)).toEqual(files.map((file) => file.name));
        await migrating.end().catch(() => undefined);

        await server().crash();
        await server().restart();

        const after = await connect();
        try {
            expect((await readLedger(after)).map((row) => row.name)).toEqual(files.map((file) => file.name));
            expect((await readRecords(after)).map((record) => record.identity)).toEqual(files.map((_, i) => `table public.durable_${i}`));
        } finally {
            await after.end();
        }
    });
});
