// Both containers published their ports on docker's default, every interface (which passes host firewalls such as
// ufw): a dev stack offered the owner's login and PgBouncer to the whole network. They publish on 127.0.0.1 unless
// memory-stack:bindAddress says otherwise, and what reaches the server otherwise does not use the published port:
// PgBouncer goes over the stack's docker network, each healthcheck runs inside its own container.
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { CONFIG_PATH } from "../../engine/render/pgbouncer";
import { configErrorFor } from "../support/config-errors";
import { installMocks, resolve, runStack } from "../support/program";

const CONTAINER = "docker:index/container:Container";

interface Port {
    internal: number;
    external: number;
    ip?: string;
}

beforeAll(() => {
    installMocks("dev");
});

async function published(raw: Record<string, string>) {
    const run = await runStack({ ...raw, hostPort: "5440", pooling: '{"hostPort": 6440}' });
    const ports = async (suffix: string) => resolve(run.find(CONTAINER, suffix).props.ports as Port[]);
    return { run, server: await ports("-postgres"), pooler: await ports("-pgbouncer") };
}

describe("the published ports", () => {
    it("are on 127.0.0.1 by default, PostgreSQL's and PgBouncer's", async () => {
        const { server, pooler } = await published({});

        expect(server).toEqual([{ internal: 5432, external: 5440, ip: "127.0.0.1" }]);
        expect(pooler).toEqual([{ internal: 6432, external: 6440, ip: "127.0.0.1" }]);
    });

    it("are on memory-stack:bindAddress when it is set", async () => {
        const { server, pooler } = await published({ bindAddress: "0.0.0.0", host: "db.example.internal" });

        expect([server[0].ip, pooler[0].ip]).toEqual(["0.0.0.0", "0.0.0.0"]);
    });

    it("are what every output URL names, at localhost by default", async () => {
        const { run } = await published({});
        const stack = run.result;

        for (const url of await resolve(pulumi.all([stack.connectionString, stack.appConnectionString, stack.adminConnectionString]))) {
            expect(new URL(url).host).toBe("localhost:5440");
        }
        expect(new URL(await resolve(stack.pooledConnectionString!)).host).toBe("localhost:6440");
    });

    it("are not how PgBouncer reaches PostgreSQL (the network, port 5432) nor what either healthcheck asks", async () => {
        const { run } = await published({});
        const [server, pooler] = [run.find(CONTAINER, "-postgres"), run.find(CONTAINER, "-pgbouncer")];
        const uploads = await resolve(pooler.props.uploads as { file: string; content: string }[]);
        const ini = uploads.find((upload) => upload.file === CONFIG_PATH)!.content;
        const serverName = await resolve(server.props.name as string);

        expect(ini).toContain(`= host=${serverName} port=5432 `);
        const networks = async (container: typeof server) =>
            (await resolve(container.props.networksAdvanced as { name: string }[])).map((network) => network.name);
        expect(await networks(pooler)).toEqual(await networks(server));
        for (const container of [server, pooler]) {
            expect(JSON.stringify(await resolve(container.props.healthcheck as unknown))).not.toMatch(/5440|6440|localhost/);
        }
    });
});

describe("memory-stack:bindAddress", () => {
    it("must be an IP address", () => {
        expect(configErrorFor({ bindAddress: "example.com" }).message).toBe(
            'memory-stack:bindAddress is "example.com"; must be an IP address (IPv4 such as 127.0.0.1 or 0.0.0.0, or IPv6 such as ::1), not a host name.',
        );
    });

    it("is refused with provisioner: external, which publishes nothing", () => {
        const error = configErrorFor({
            provisioner: "external",
            databaseUrl: "postgresql://owner:secret-password@db.example.com:5432/app",
            bindAddress: "0.0.0.0",
        });
        expect(error.key).toBe("bindAddress");
    });

    it("left at 127.0.0.1 refuses a host clients elsewhere would use, naming bindAddress", () => {
        const error = configErrorFor({ host: "192.168.1.20" });

        expect(error.key).toBe("host");
        expect(error.message).toContain("publish their ports on 127.0.0.1 only (memory-stack:bindAddress, default 127.0.0.1");
        expect(configErrorFor({ host: "db.example.internal", bindAddress: "::1" }).key).toBe("host");
    });

    it("on one other interface refuses host localhost, which would not reach it", () => {
        const error = configErrorFor({ bindAddress: "192.168.1.20" });

        expect(error.key).toBe("bindAddress");
        expect(error.message).toContain("set memory-stack:host to 192.168.1.20");
    });

    it.each([
        [{ host: "127.0.0.1" }],
        [{ host: "LOCALHOST." }],
        [{ bindAddress: "0.0.0.0" }],
        [{ bindAddress: "::", host: "db.example.internal" }],
        [{ bindAddress: "192.168.1.20", host: "192.168.1.20" }],
    ])("accepts %j", async (raw) => {
        await expect(runStack(raw)).resolves.toBeDefined();
    });
});
