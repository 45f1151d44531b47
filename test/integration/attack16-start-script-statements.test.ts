// The owner's password on a server that keeps statement texts: an image that preloads pg_stat_statements
// (track_utility is on by default; Supabase's and many managed images preload it). The start script
// (components/server/postgres-start.sh) turns the server's log off for its ALTER ROLE … PASSWORD, but the
// statement still carries the password as plain text, and pg_stat_statements keeps a utility statement's
// text as it was sent: any member of pg_read_all_stats (pg_monitor) reads the owner's password there.
// The container as components/server.ts registers it, over Debian's PostgreSQL 15 (test/support/postgres-container.ts).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "pg";
import { parseConnectionUrl } from "../../engine/db/url";
import { freePort } from "../support/embedded-server";
import { ContainerHost, missingPostgres15, serverContainerSpec, type RunningContainer } from "../support/postgres-container";

const FIRST = "first-up-password-Aaaa1111";
const SECOND = "second-up-Mksixteen-pw-Zz";
const missing = missingPostgres15();
if (missing) {
    console.warn(`skipping attack16-start-script-statements.test.ts: ${missing}`);
}

let host: ContainerHost;
let second: RunningContainer;
let url: string;

describe.skipIf(missing)("the start script on a server with pg_stat_statements preloaded", () => {
    beforeAll(async () => {
        const port = await freePort();
        host = new ContainerHost(port);
        const preload = ["-c", "shared_preload_libraries=pg_stat_statements"];
        const first = await serverContainerSpec({ password: FIRST, hostPort: String(port) });
        const firstRun = await host.run({ ...first, command: [...first.command, ...preload] });
        await firstRun.waitHealthy();
        await firstRun.stop("SIGINT");
        // The next up over the retained volume, with a new password: the script sets it with ALTER ROLE.
        const spec = await serverContainerSpec({ password: SECOND, hostPort: String(port) });
        url = spec.connectionString;
        second = await host.run({ ...spec, command: [...spec.command, ...preload] });
        await second.waitHealthy();
    });

    afterAll(async () => {
        await host?.dispose();
    });

    // Was: pg_stat_statements holds `alter role "postgres" with password 'second-up-…'` (a utility statement's text
    // is kept verbatim). Should: the statement leaves no password where statement texts are kept, e.g. the script
    // sends the SCRAM verifier (as components/access.ts does for the roles), or turns pg_stat_statements.track_utility
    // (and track_activities) off for its session, as it does the log.
    it("keeps no statement text that holds the password", async () => {
        const client = new Client(parseConnectionUrl(url));
        await client.connect();
        try {
            await client.query("create extension if not exists pg_stat_statements");
            const { rows } = await client.query<{ query: string }>("select query from pg_stat_statements where query ~* 'password'");
            expect(rows.map((row) => row.query).filter((query) => query.includes("Mksixteen"))).toEqual([]);
        } finally {
            await client.end();
        }
    });
});
