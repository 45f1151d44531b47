// The two containers' lifecycle under Pulumi's mocks: how they start (the server's start script and its
// healthcheck), how they stop (each with its own graceful signal and a grace period, on destroy and
// replace too), and that no password reaches anything but the server's secret environment.
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { POSTGRES_STOP_GRACE_SECONDS, POSTGRES_STOP_SIGNAL, START_SCRIPT, START_SCRIPT_SOURCE } from "../../components/server";
import { PGBOUNCER_STOP_GRACE_SECONDS, PGBOUNCER_STOP_SIGNAL } from "../../components/pooler";
import { installMocks, resolve, runStack } from "../support/program";

const CONTAINER = "docker:index/container:Container";
const PASSWORD = "configured-stack-password-9876";

beforeAll(() => {
    installMocks("dev");
});

describe("the PostgreSQL container", () => {
    it("starts through the uploaded start script, which then runs the image's entrypoint with the server's flags", async () => {
        const container = (await runStack({})).find(CONTAINER, "-postgres");

        expect(container.props.entrypoints).toEqual([START_SCRIPT]);
        expect(container.props.command).toEqual(expect.arrayContaining(["postgres", "-c", "max_connections=20"]));
        const uploads = await resolve(container.props.uploads as { file: string; content: string; permissions: string }[]);
        expect(uploads).toEqual([{ file: START_SCRIPT, content: readFileSync(START_SCRIPT_SOURCE, "utf8"), permissions: "0755" }]);
        expect(uploads[0].content).toContain("exec docker-entrypoint.sh");
    });

    it("runs docker's init as PID 1, to reap the script's helper and pass the stop signal on", async () => {
        expect((await runStack({})).find(CONTAINER, "-postgres").props.init).toBe(true);
    });

    it("is healthy only by the start script's check (TCP and the stack's password), and Pulumi waits for it", async () => {
        const container = (await runStack({})).find(CONTAINER, "-postgres");

        expect(container.props.healthcheck).toMatchObject({ tests: ["CMD", START_SCRIPT, "healthcheck"] });
        expect(container.props.wait).toBe(true);
    });

    it("stops with a fast shutdown (SIGINT) and a grace period long enough to checkpoint, on docker stop and on destroy", async () => {
        const container = (await runStack({})).find(CONTAINER, "-postgres");

        expect(container.props.stopSignal).toBe("SIGINT");
        expect(POSTGRES_STOP_SIGNAL).toBe("SIGINT"); // the real-server tests stop with it
        expect(POSTGRES_STOP_GRACE_SECONDS).toBeGreaterThanOrEqual(90);
        expect(container.props.stopTimeout).toBe(POSTGRES_STOP_GRACE_SECONDS);
        // Without destroyGraceSeconds the docker provider removes the container by force: a kill.
        expect(container.props.destroyGraceSeconds).toBe(POSTGRES_STOP_GRACE_SECONDS);
    });

    it("is replaced by deleting the old container first, so two servers never share the data volume", async () => {
        expect((await runStack({})).find(CONTAINER, "-postgres").opts.deleteBeforeReplace).toBe(true);
    });

    it("carries the password in its secret environment only: not in the script, command, entrypoint or healthcheck", async () => {
        const container = (await runStack({ password: PASSWORD }, "memory-stack-pw")).find(CONTAINER, "-postgres");

        expect(await resolve(container.props.envs as string[])).toContain(`POSTGRES_PASSWORD=${PASSWORD}`);
        for (const key of ["uploads", "command", "entrypoints", "healthcheck"]) {
            expect(JSON.stringify(await resolve(container.props[key] as unknown)), key).not.toContain(PASSWORD);
        }
    });
});

describe("the PostgreSQL image", () => {
    it.each([
        ["postgres", `postgres@sha256:${"ab".repeat(32)}`, { imageMajorVersion: "15" }],
        ["pgvector", `pgvector/pgvector:pg15@sha256:${"cd".repeat(32)}`, { vector: "true" }],
    ])("pulls a digest-pinned %s image exactly as given", async (stack, image, raw) => {
        const run = await runStack({ ...raw, image }, `memory-stack-${stack}-pinned`);

        expect(run.find("docker:index/remoteImage:RemoteImage", "-server-image").props.name).toBe(image);
    });
});

describe("the PgBouncer container", () => {
    it("stops with PgBouncer's safe shutdown (SIGINT) and a grace period, on docker stop and on destroy", async () => {
        const container = (await runStack({})).find(CONTAINER, "-pgbouncer");

        expect(container.props.stopSignal).toBe("SIGINT");
        expect(PGBOUNCER_STOP_SIGNAL).toBe("SIGINT"); // test/integration/pgbouncer-stop.test.ts stops with it
        expect(container.props.stopTimeout).toBe(PGBOUNCER_STOP_GRACE_SECONDS);
        expect(container.props.destroyGraceSeconds).toBe(PGBOUNCER_STOP_GRACE_SECONDS);
        expect(PGBOUNCER_STOP_GRACE_SECONDS).toBeGreaterThan(0);
    });

    it("is replaced by deleting the old container first: a new one beside it would take its fixed name and host port", async () => {
        // A role's new password (a new verifier in the uploaded auth file) or a new pgbouncer.ini replaces the container;
        // created first, the new one fails (name in use, port already allocated) and the rotation stops there.
        expect((await runStack({})).find(CONTAINER, "-pgbouncer").opts.deleteBeforeReplace).toBe(true);
    });
});
