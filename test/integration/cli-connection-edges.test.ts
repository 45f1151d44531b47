// The CLI against the real server at the edges a fresh-eyes attack found: connect_timeout values
// beyond a node timer, a connection the server ends while the command waits for the migration lock, and
// libpq's PG* defaults for what the URL leaves out.
import type { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, startCli } from "../support/cli";
import { freshDatabase, sharedServer, type TestDatabase } from "../support/database";
import { until } from "../support/poll";

let db: TestDatabase;
let observer: Client;

beforeAll(async () => {
    db = await freshDatabase("cli_connection_edges");
    observer = await db.connect();
});

afterAll(async () => {
    await db?.drop();
});

describe("connect_timeout beyond what a Node timer holds", () => {
    // Was: connect_timeout=3000000 (about 35 days; libpq takes any int) becomes a 3e9 ms timer, over Node's
    // 2^31-1 ms limit: Node prints "TimeoutOverflowWarning … set to 1" on stderr and the connection gives up
    // at once with "timeout expired" (exit 1). Should: connect (or, for a value libpq itself refuses, such
    // as one beyond a 32-bit int, exit 2 naming connect_timeout) — never an instant timeout.
    it.each(["3000000", "99999999999"])("connect_timeout=%s does not time out at once", async (seconds) => {
        const run = await cli(["plan", "--url", `${db.url}?sslmode=disable&connect_timeout=${seconds}`]);
        expect(run.stderr).not.toContain("TimeoutOverflowWarning");
        expect(run.stderr).not.toContain("timeout expired");
        expect([0, 2], run.stderr).toContain(run.code);
    });
});

describe("the server ends the CLI's connection while it waits for the migration lock", () => {
    // Was: the server's reason (57P01 "terminating connection due to administrator command") goes to a
    // swallowed 'error' event; the next lock poll fails with pg's "Client has encountered a connection error
    // and is not queryable", which is all the user sees. Should: say the server closed the connection, with
    // its reason/SQLSTATE, and that nothing was applied (what to do: run apply again).
    it("names why the connection ended", async () => {
        const holder = await db.connect({ application_name: "cli-edges-holder" });
        await holder.query("select pg_advisory_lock(120242254409593)");
        const run = startCli(["apply", "--app-role", `${db.name}_app`, "--admin-role", `${db.name}_admin`], {
            DATABASE_URL: `${db.url}?sslmode=disable`,
        });
        await until("the CLI waiting for the migration lock", () =>
            run.stderrSoFar().includes("waiting for the migration lock") ? true : undefined,
        );
        await observer.query(
            "select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and application_name = 'memory-stack-cli-apply'",
        );
        const ended = await run.ended;
        await holder.query("select pg_advisory_unlock_all()");
        expect(ended.code, ended.stderr).toBe(1);
        expect(ended.stderr).not.toContain("is not queryable");
        expect(ended.stderr).toMatch(/terminat|57P01|closed the connection|ended the connection/i);
    });
});

describe("libpq's environment defaults for what the URL leaves out", () => {
    // Was: the CLI honours PGPASSWORD and PGSSLMODE but not PGPORT (nor PGCONNECT_TIMEOUT, PGSSLROOTCERT):
    // a URL without a port goes to 5432 whatever PGPORT says, where psql and every libpq client go to
    // $PGPORT — silently a different server (here: another cluster, or nothing). Should: take PGPORT (and
    // the other PG* defaults) as libpq does when the URL has no value, or refuse naming the variable.
    it("a URL without a port connects to $PGPORT, as psql does", async () => {
        const server = sharedServer();
        const url = `postgresql://${server.user}:${encodeURIComponent(server.password)}@${server.host}/${db.name}?sslmode=disable`;
        const run = await cli(["plan", "--url", url], { PGPORT: String(server.port) });
        expect(server.port).not.toBe(5432);
        expect(run.code, run.stderr).toBe(0);
    });
});

describe("a connection that cannot be opened, as a first run meets it", () => {
    // From attack24: the server's or the network's words alone ("password authentication failed", "database … does
    // not exist", "connect ECONNREFUSED") left a new user without a next step.
    const url = (change: (url: URL) => void) => {
        const parsed = new URL(db.url);
        change(parsed);
        return `${parsed.toString()}?sslmode=disable`;
    };
    const closedPort = async () => {
        const { createServer } = await import("node:net");
        const server = createServer();
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        const { port } = server.address() as { port: number };
        await new Promise((resolve) => server.close(resolve));
        return port;
    };

    it.each([
        [
            "a wrong password",
            async () => url((u) => (u.password = "not-the-password")),
            "(SQLSTATE 28P01); check the user and the password",
        ],
        [
            "a database that does not exist",
            async () => url((u) => (u.pathname = "/no_such_db_attack24")),
            '(SQLSTATE 3D000); memory-stack creates the schema, not the database: create it first (create database "no_such_db_attack24"',
        ],
        [
            "a port nothing listens on",
            async () => {
                const port = await closedPort();
                return url((u) => (u.port = String(port)));
            },
            "nothing accepts connections at 127.0.0.1:",
        ],
        [
            "a unix socket directory without the server's socket",
            async () => `${url(() => undefined)}&host=/nonexistent-attack24`,
            "nothing accepts connections at /nonexistent-attack24:",
        ],
        [
            "sslmode=require against a server without TLS",
            async () => url(() => undefined).replace("sslmode=disable", "sslmode=require"),
            "this server has no TLS, which sslmode=require asks for: turn ssl on in the server; only where the network between is trusted",
        ],
    ])("%s: exit 1 with what to do", async (_, target, advice) => {
        const run = await cli(["status", "--url", await target()]);
        expect(run.code, run.stderr).toBe(1);
        expect(run.stderr).toContain(advice);
    });
});
