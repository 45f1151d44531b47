// The server always accepts the stack's current password (issue 15, SPEC §4). A data directory is
// initialised by a first container with password A; `pulumi destroy` removes the container and keeps the
// volume; the next `up` (a new generated password, or `pulumi config set --secret password`) starts a
// container over it with password B. The postgres image skips initialisation then and would keep A: the
// stack's start script gives the owner B before the healthcheck passes. Real PostgreSQL 15, the
// container exactly as components/server.ts registers it (test/support/postgres-container.ts).
import { readFileSync, writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { POSTGRES_STOP_SIGNAL } from "../../components/server";
import { freePort } from "../support/embedded-server";
import { loginAs } from "../support/login";
import {
    commandLinesHolding,
    ContainerHost,
    missingPostgres15,
    serverContainerSpec,
    type RunningContainer,
} from "../support/postgres-container";

const PASSWORD_A = "first-up-password-Aaaa1111";
const PASSWORD_B = "second-up-password-Bbbb2222";
const missing = missingPostgres15();
if (missing) {
    console.warn(`skipping server-password.test.ts: ${missing}`);
}

let host: ContainerHost;
let port: number;
let first: RunningContainer;

async function connectsWith(url: string): Promise<string> {
    const outcome = await loginAs({ connectionString: url });
    return /^[0-9A-Z]{5}$/.test(outcome) || outcome.startsWith("Error") ? outcome : "connected";
}

describe.skipIf(missing)("the PostgreSQL container over a retained volume", () => {
    beforeAll(async () => {
        port = await freePort();
        host = new ContainerHost(port);
        first = await host.run(await serverContainerSpec({ password: PASSWORD_A, hostPort: String(port) }));
        await first.waitHealthy();
    });

    afterAll(async () => {
        await host?.dispose();
    });

    it("initialises the empty volume on the first up and accepts password A", async () => {
        expect(first.log()).toContain("PostgreSQL init process complete");
        const spec = await serverContainerSpec({ password: PASSWORD_A, hostPort: String(port) });
        expect(await connectsWith(spec.connectionString)).toBe("connected");
    });

    it("stops with a fast shutdown that checkpoints: no crash recovery on the next start", async () => {
        const stopped = await first.stop(POSTGRES_STOP_SIGNAL);

        expect(stopped).toEqual({ code: 0, signal: null });
        expect(first.log()).toContain("received fast shutdown request");
        expect(first.log()).toContain("database system is shut down");
    });

    describe("the next up, with password B", () => {
        let second: RunningContainer;
        let url: string;
        beforeAll(async () => {
            const spec = await serverContainerSpec({ password: PASSWORD_B, hostPort: String(port) });
            url = spec.connectionString;
            second = await host.run(spec);
            await second.waitHealthy();
        });

        it("skips initialisation, as the image does, and starts from a clean shutdown", () => {
            expect(second.log()).toContain("Skipping initialization");
            expect(second.log()).toMatch(/database system was shut down at/);
            expect(second.log()).not.toMatch(/was interrupted|automatic recovery in progress|not properly shut down/);
        });

        it("accepts the stack's URL with password B and refuses the old password A", async () => {
            expect(await connectsWith(url)).toBe("connected");
            expect(await connectsWith(url.replace(encodeURIComponent(PASSWORD_B), encodeURIComponent(PASSWORD_A)))).toBe("28P01");
        });

        it("keeps the password off every command line and out of the server's log, which logs every statement", () => {
            expect(second.log()).toContain('role "postgres" has the stack\'s password');
            expect(second.log()).toContain("statement: set log_statement = 'none'");
            expect(second.log()).not.toContain(PASSWORD_B);
            expect(second.commands().filter((line) => line.startsWith("psql "))).toHaveLength(1);
            expect(second.commands().filter((line) => line.includes(PASSWORD_B))).toEqual([]);
            expect(commandLinesHolding(PASSWORD_B)).toEqual([]);
        });

        it("is healthy only for the postmaster the password was set for", () => {
            const recorded = readFileSync(second.marker, "utf8");
            expect(second.healthcheck()).toBe(true);

            writeFileSync(second.marker, "1 1000000000 ");
            expect(second.healthcheck()).toBe(false);

            writeFileSync(second.marker, recorded);
            expect(second.healthcheck()).toBe(true);
        });

        it("is unhealthy once the server stops", async () => {
            await second.stop(POSTGRES_STOP_SIGNAL);

            expect(second.healthcheck()).toBe(false);
        });
    });
});
