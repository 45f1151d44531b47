// A PostgreSQL 15 of a test file's own whose WAL writer waits 10 s between flushes, autovacuum off: a crash
// (immediate shutdown: unwritten WAL buffers are gone) then loses every commit that did not wait for its
// own flush. Called at a file's top level, it starts before the file's tests and stops after them.
import { Client } from "pg";
import { afterAll, beforeAll } from "vitest";
import { startEmbeddedPostgres, type RunningServer } from "./embedded-server";

export function slowWalServer(): { server(): RunningServer; connect(database?: string): Promise<Client> } {
    let server: RunningServer | undefined;
    beforeAll(async () => {
        server = await startEmbeddedPostgres({ flags: ["-c", "wal_writer_delay=10000", "-c", "autovacuum=off"] });
    }, 60_000);
    afterAll(async () => {
        await server?.stop();
    });
    return {
        server: () => server!,
        async connect(database = "postgres") {
            const { host, port, user, password } = server!;
            const client = new Client({ host, port, user, password, database });
            await client.connect();
            return client;
        },
    };
}
