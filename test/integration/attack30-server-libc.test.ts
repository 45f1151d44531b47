// A data directory built under one C library and started by an image on the other: the dev stack's postgres:15-alpine
// (musl, which sorts text byte by byte) and pgvector/pgvector:pg15 (Debian, glibc, which sorts by the locale), the image
// `vector: true` swaps in over the same volume. Every text index (agent_name, status, memory_key, the application's
// unique ones) would be in the wrong order for the new server: lookups miss rows and duplicates get in, and PostgreSQL
// says nothing (it records no collation version under musl). The start script records which library built the data
// directory and refuses to serve it under the other. Real PostgreSQL 15 through test/support/postgres-container.ts; this
// machine is glibc, so a data directory "from musl" is one whose databases carry no collation version, as musl leaves them.
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConnectionUrl } from "../../engine/db/url";
import { freePort } from "../support/embedded-server";
import { ContainerHost, missingPostgres15, serverContainerSpec, type ContainerSpec } from "../support/postgres-container";
import { until } from "../support/poll";

// The images' locale, en_US.UTF-8, whose collation glibc versions (C, C.UTF-8 and POSIX sort the same under both
// libraries), compiled into a directory of the test's own (LOCPATH): the machine's locales stay as they are.
const locales = mkdtempSync(join(tmpdir(), "memory-stack-locales-"));
chmodSync(locales, 0o755);
const compiled = spawnSync("localedef", ["-i", "en_US", "-f", "UTF-8", join(locales, "en_US.UTF-8")], { encoding: "utf8" });
const missing =
    missingPostgres15() ??
    (compiled.status === 0 ? undefined : `localedef cannot compile en_US.UTF-8 (Debian's locales package): ${compiled.stderr}`);
if (missing) {
    console.warn(`skipping attack30-server-libc.test.ts: ${missing}`);
}
const IMAGE_ENV = { STAND_IN_LOCALE: "en_US.UTF-8", LOCPATH: locales };

let host: ContainerHost;
let spec: ContainerSpec;
let record: string;

async function exited(run: { log(): string }, child: () => boolean): Promise<string> {
    await until("the container to exit", () => (child() ? true : undefined), 60_000);
    return run.log();
}

describe.skipIf(missing)("the server container over a data directory another C library built", () => {
    beforeAll(async () => {
        const port = await freePort();
        host = new ContainerHost(port);
        spec = await serverContainerSpec({ password: "libc-test-password-1", hostPort: String(port) });
        record = join(host.volume, "memory-stack-libc");
    });

    afterAll(async () => {
        await host?.dispose();
        rmSync(locales, { recursive: true, force: true });
    });

    it("records the library that built a new data directory, and serves it", async () => {
        const first = await host.run(spec, IMAGE_ENV);
        await first.waitHealthy();
        expect(readFileSync(record, "utf8").trim()).toBe("glibc");
        // Make it what an Alpine image leaves: no collation version on any database, and no record (an older start script).
        const client = new Client(parseConnectionUrl(spec.connectionString));
        await client.connect();
        await client.query("update pg_catalog.pg_database set datcollversion = null");
        await client.end();
        await first.stop();
        rmSync(record);
    });

    it("stops a server over a data directory musl built, before it turns healthy, saying why and what to do", async () => {
        const second = await host.run(spec, IMAGE_ENV);
        // It stops itself; stop() below only collects its exit.
        const log = await exited(
            second,
            () => !existsSync(join(host.volume, "postmaster.pid")) && second.log().includes("memory-stack: this data directory"),
        );
        expect(second.healthcheck()).toBe(false);
        expect(log).toContain(
            "memory-stack: this data directory's text indexes were built by an image on musl and this image runs on glibc",
        );
        expect(log).toContain("The server is not started. Set memory-stack:image back to one on musl");
        expect(readFileSync(record, "utf8").trim()).toBe("musl");
        await second.stop();
    });

    it("refuses the next start at once, without starting PostgreSQL", async () => {
        const third = await host.run(spec, IMAGE_ENV);
        // SIGCONT changes nothing: stop() here only waits for the exit.

        expect(await third.stop("SIGCONT")).toEqual({ code: 1, signal: null });
        expect(third.log()).toContain("built by an image on musl and this image runs on glibc");
        expect(third.log()).not.toContain("database system is ready");
    });

    it("refuses, the other way round, a volume glibc built under an image on musl, whose getconf prints nothing", async () => {
        writeFileSync(record, "glibc\n");

        const alpine = await host.run(spec, IMAGE_ENV, { getconf: "#!/bin/sh\nexit 0\n" });

        expect(await alpine.stop("SIGCONT")).toEqual({ code: 1, signal: null });
        expect(alpine.log()).toContain("built by an image on glibc and this image runs on musl");
        expect(alpine.log()).not.toContain("database system is ready");
    });
});
