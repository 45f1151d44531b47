// The server accepts the stack's password whatever printable characters it holds (SPEC §4, §11): a data
// directory initialised with another password, then the next `up` with a password that holds every
// character URLs, shells, SQL literals and psql variables treat specially, and unicode. The container as
// components/server.ts registers it, over Debian's PostgreSQL 15 (test/support/postgres-container.ts).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { POSTGRES_STOP_SIGNAL } from "../../components/server";
import { parseConnectionUrl } from "../../engine/db/url";
import { freePort } from "../support/embedded-server";
import { loginAs } from "../support/login";
import {
    commandLinesHolding,
    ContainerHost,
    missingPostgres15,
    serverContainerSpec,
    type RunningContainer,
} from "../support/postgres-container";

const FIRST = "first-up-password-Aaaa1111";
// Every character config allows that something on the way could read as syntax.
const HOSTILE = `p@ss #%/?&=+ it's "quoted" \\back\\ $HOME \`id\` :x; ~ * ! (é ü ß 密码 🔑) %41 ---`;
const missing = missingPostgres15();
if (missing) {
    console.warn(`skipping server-password-characters.test.ts: ${missing}`);
}

let host: ContainerHost;
let port: number;
let second: RunningContainer;
let url: string;

function connectsWith(connection: string): Promise<string> {
    return loginAs(parseConnectionUrl(connection));
}

describe.skipIf(missing)("a retained volume, then an up with a password of every kind of character", () => {
    beforeAll(async () => {
        port = await freePort();
        host = new ContainerHost(port);
        const first = await host.run(await serverContainerSpec({ password: FIRST, hostPort: String(port) }));
        await first.waitHealthy();
        await first.stop(POSTGRES_STOP_SIGNAL);
        const spec = await serverContainerSpec({ password: HOSTILE, hostPort: String(port) });
        url = spec.connectionString;
        second = await host.run(spec);
        await second.waitHealthy();
    });

    afterAll(async () => {
        await host?.dispose();
    });

    it("ends with a server that accepts the stack's URL with that password, and no longer the first one", async () => {
        expect(second.log()).toContain("Skipping initialization");
        expect(await connectsWith(url)).toBe("postgres");
        const first = new URL(url);
        first.password = encodeURIComponent(FIRST);
        expect(await connectsWith(first.toString())).toBe("28P01");
    });

    it("puts the password on no command line and in no log line, not even in part", () => {
        for (const part of [HOSTILE, "it's", "密码", "\\back\\"]) {
            expect(second.log()).not.toContain(part);
            expect(second.commands().filter((line) => line.includes(part))).toEqual([]);
        }
        expect(commandLinesHolding("密码")).toEqual([]);
    });
});
