// A 1000-character password that holds every character a URL, a shell, JSON or SQL treats specially
// (@ # % / ? & ' " \ =, spaces, a leading -, non-ASCII), through Pulumi's dynamic-provider host against a
// PostgreSQL 15 of the test's own that logs every statement: after each up, refresh and destroy, and for
// each way those fail, no piece of it is in an error the caller gets, in the host's stderr, in any saved
// output but `connection` (which the engine stores as a secret), in the server's log or in
// pg_stat_activity. The password is cut by unique tokens (Xq000, Xq001, …): finding any one is a leak.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "pg";
import type { ConnectionSettings } from "../../engine/db/url";
import { STATE_VERSION } from "../../engine/providers/schema-migration";
import { DEFAULT_OPTIONS } from "../support/apply-sql";
import { freePort, startEmbeddedPostgres, type RunningServer } from "../support/embedded-server";
import { memoryProgram, startLifecycle, type Lifecycle } from "../support/lifecycle";
import { migration } from "../support/migrations";
import { loadMigrationSources, renderMigrations } from "../../engine/migrate/render";

const SPECIALS = ["@", "#", "%", "/", "?", "&", "'", '"', "\\", " ", "=", "ü", ":", "%41", "+", "$"];
const PASSWORD = Array.from({ length: 170 }, (_, i) => `${SPECIALS[i % SPECIALS.length]}Xq${String(i).padStart(3, "0")}`)
    .join("")
    .replace(/^/, "-")
    .slice(0, 1000);
const TOKEN = /Xq\d{3}/g;

/** The tokens of the password that `text` holds, with a little context each. */
function pieces(text: string): string[] {
    return [...text.matchAll(TOKEN)].map((match) => text.slice(Math.max(0, match.index - 20), match.index + 25));
}

let server: RunningServer;
let life: Lifecycle;
let connection: ConnectionSettings;
let observer: Client;
const failures: string[] = [];

beforeAll(async () => {
    [server, life] = await Promise.all([
        startEmbeddedPostgres({ flags: ["-c", "log_statement=all", "-c", "log_connections=on", "-c", "log_min_error_statement=info"] }),
        startLifecycle(),
    ]);
    const admin = new Client({ host: server.host, port: server.port, user: server.user, password: server.password, database: "postgres" });
    await admin.connect();
    // The test's own statement that carries the password is kept out of the log it reads.
    await admin.query("set log_statement = 'none'; set log_min_error_statement = 'panic'");
    await admin.query(`create role marker_owner login superuser password '${PASSWORD.replace(/'/g, "''")}'`);
    await admin.query("reset log_statement; reset log_min_error_statement");
    await admin.query("create database markerdb owner marker_owner");
    await admin.end();
    connection = { host: server.host, port: server.port, user: "marker_owner", password: PASSWORD, database: "markerdb" };
    observer = new Client({ ...connection });
    await observer.connect();
}, 120_000);

afterAll(async () => {
    await observer?.end();
    await life?.host.stop();
    await server?.stop();
});

/** Runs `work`, which must fail; records its message and stack for the final check. */
async function failing(what: string, work: () => Promise<unknown>): Promise<string> {
    const error = await work().then(
        () => undefined,
        (caught: unknown) => caught as Error,
    );
    expect(error, `${what} should fail`).toBeDefined();
    failures.push(`${what}: ${error!.message}\n${error!.stack ?? ""}`);
    return error!.message;
}

const program = (changes: Partial<ConnectionSettings> = {}, migrations = renderMigrations(loadMigrationSources(), DEFAULT_OPTIONS)) =>
    memoryProgram({ connection: { ...connection, ...changes }, schema: DEFAULT_OPTIONS, migrations, readinessTimeoutMs: 1_500 });

describe("a password of every awkward character, 1000 long", () => {
    it("connects: the deploy works with it", async () => {
        const client = new Client({ ...connection });
        await client.connect();
        await client.end();
        expect(PASSWORD).toHaveLength(1000);
    });

    it("fails a create without it in any error: wrong password, no database, TLS required, refused, a failing migration", async () => {
        const fresh = await startLifecycle();
        try {
            expect(await failing("wrong password", async () => fresh.up(await program({ password: `${PASSWORD}!` })))).toMatch(
                /28P01|password/,
            );
            expect(await failing("no database", async () => fresh.up(await program({ database: "nodb" })))).toMatch(/nodb/);
            expect(await failing("TLS required", async () => fresh.up(await program({ sslMode: "require" })))).toMatch(/SSL|TLS/i);
            const closed = await freePort();
            expect(await failing("refused", async () => fresh.up(await program({ port: closed })))).toMatch(/ECONNREFUSED/);
            const broken = migration("0099_broken.sql", "-- 0099_broken: fails.\nselect 1 / 0;\n");
            const migrations = [...renderMigrations(loadMigrationSources(), DEFAULT_OPTIONS), broken];
            expect(await failing("failing migration", async () => fresh.up(await program({}, migrations)))).toMatch(/0099_broken/);
            failures.push(`host stderr: ${fresh.host.stderr()}`);
        } finally {
            await fresh.host.stop();
        }
    });

    it("deploys, refreshes and keeps it only in the connection outputs", async () => {
        await life.up(await program());
        await life.refresh();
        await life.up(await program());
        for (const [name, resource] of life.state) {
            const { connection: kept, ...rest } = resource.outputs;
            expect(pieces(JSON.stringify(rest)), name).toEqual([]);
            expect((kept as ConnectionSettings).password, name).toBe(PASSWORD);
            expect(resource.secretOutputs, name).toContain("connection");
            expect(pieces(JSON.stringify(resource.inputs).replace(JSON.stringify(PASSWORD), '""')), name).toEqual([]);
        }
    });

    it("fails refresh, update and destroy without it once the server refuses it, and on state newer than the code", async () => {
        const [schemaName] = life.state.keys();
        const schema = life.state.get(schemaName)!;
        const wrong = { ...schema.outputs, connection: { ...connection, password: `${PASSWORD}x` } };
        await failing("refresh, wrong password", () => life.host.read(schema.id, schema.urn, wrong, schema.inputs));
        await failing("destroy, wrong password", () => life.host.delete(schema.id, schema.urn, wrong));
        const newer = { ...schema.outputs, stateVersion: STATE_VERSION + 1 };
        await failing("update, newer state", () => life.host.update(schema.id, schema.urn, newer, schema.inputs));
        await failing("destroy, newer state", () => life.host.delete(schema.id, schema.urn, newer));
        const closed = { ...schema.outputs, connection: { ...connection, port: await freePort() } };
        await failing("destroy, server down", () => life.host.delete(schema.id, schema.urn, closed));
        failures.push(`host stderr: ${life.host.stderr()}`);
    });

    it("destroys with it, and it is in no error, host output, server log line or session of the server", async () => {
        await observer.query("create table public.app_rows (id int); insert into public.app_rows values (1)");
        await life.destroy();
        const sessions = await observer.query("select application_name, query from pg_stat_activity where datname = 'markerdb'");
        expect(pieces(JSON.stringify(sessions.rows))).toEqual([]);
        expect(pieces(failures.join("\n"))).toEqual([]);
        expect(pieces(life.host.stderr())).toEqual([]);
        expect(pieces(server.log())).toEqual([]);
    });
});
