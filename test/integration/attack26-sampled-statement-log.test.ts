// The start script sets the owner's password with statement logging off (log_statement, log_min_duration_statement,
// log_min_error_statement). PostgreSQL logs a statement's text for two more reasons: a transaction sampled by
// log_transaction_sample_rate has all its statements logged, and log_min_duration_sample with
// log_statement_sample_rate logs a sample of statements; a server configured for either (here on its command
// line, as a tuned postgresql.conf or an image's would) kept the ALTER ROLE … PASSWORD '<password>' in its log.
// The container as components/server.ts registers it, over Debian's PostgreSQL 15 (test/support/postgres-container.ts).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConnectionUrl } from "../../engine/db/url";
import { freePort } from "../support/embedded-server";
import { loginAs } from "../support/login";
import { ContainerHost, missingPostgres15, serverContainerSpec, type RunningContainer } from "../support/postgres-container";

const PASSWORD = "sampled-statement-Secret-7391";
const SAMPLED = ["-c", "log_transaction_sample_rate=1", "-c", "log_min_duration_sample=0", "-c", "log_statement_sample_rate=1"];
const missing = missingPostgres15();
if (missing) {
    console.warn(`skipping attack26-sampled-statement-log.test.ts: ${missing}`);
}

let host: ContainerHost;
let container: RunningContainer;
let url: string;

describe.skipIf(missing)("a server that samples statements into its log", () => {
    beforeAll(async () => {
        const port = await freePort();
        host = new ContainerHost(port);
        const spec = await serverContainerSpec({ password: PASSWORD, hostPort: String(port) });
        url = spec.connectionString;
        container = await host.run({ ...spec, command: [...spec.command, ...SAMPLED] });
        await container.waitHealthy();
    });

    afterAll(async () => {
        await host?.dispose();
    });

    it("logs sampled statements, yet not the one that sets the owner's password", async () => {
        expect(await loginAs(parseConnectionUrl(url))).toBe("postgres");
        expect(container.log()).toMatch(/duration: .* statement: /); // the sampling is on
        expect(container.log()).not.toContain(PASSWORD);
    });
});
