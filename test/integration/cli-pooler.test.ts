// memory-stack apply and rollback refuse a transaction pooler: the migration lock needs one server
// session. Proven through Debian's PgBouncer in transaction, statement and session mode.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../engine/config/config";
import { parseConnectionUrl } from "../../engine/db/url";
import { schemaMigration } from "../../engine/providers/index";
import { DEFAULT_OPTIONS } from "../support/apply-sql";
import { cli } from "../support/cli";
import { dropRoles, freshDatabase, sharedServer, type TestDatabase } from "../support/database";
import { findPgBouncer, startPgBouncer, type RunningPgBouncer } from "../support/pgbouncer";
import { schemaInputs } from "../support/schema-inputs";

const binary = findPgBouncer();
if (!binary) {
    it.skip("transaction-pooler refusal: pgbouncer is not installed (apt-get install pgbouncer)", () => undefined);
}

describe.skipIf(!binary)("memory-stack through PgBouncer", () => {
    let db: TestDatabase;
    const bouncers: RunningPgBouncer[] = [];

    beforeAll(async () => {
        db = await freshDatabase("cli_pooler");
    });

    afterAll(async () => {
        await Promise.all(bouncers.map((bouncer) => bouncer.stop()));
        await db?.drop();
        await dropRoles(sharedServer(), [`${db.name}_app`, `${db.name}_admin`]);
    });

    async function through(mode: string): Promise<{ url: string; roles: string[] }> {
        const server = sharedServer();
        // Statement mode refuses the transaction bind_user needs: it is for a stack without row level security.
        const config = parseConfig({
            database: db.name,
            pooling: JSON.stringify({ mode }),
            client: JSON.stringify({ maxOverflow: 2 }),
            rls: String(mode !== "statement"),
        });
        const bouncer = await startPgBouncer({ config, server, users: [{ name: server.user, password: server.password }] });
        bouncers.push(bouncer);
        return {
            url: `postgresql://${server.user}:${encodeURIComponent(server.password)}@${bouncer.host}:${bouncer.port}/${db.name}?sslmode=disable`,
            roles: ["--app-role", `${db.name}_app`, "--admin-role", `${db.name}_admin`],
        };
    }

    async function ledgerExists(): Promise<boolean> {
        const client = await db.connect();
        return (await client.query("select to_regclass('memory_stack.migrations') is not null as found")).rows[0].found;
    }

    it.each(["transaction", "statement"])(
        "refuses to apply through %s pooling, naming the server's own port, and changes nothing",
        async (mode) => {
            const { url, roles } = await through(mode);
            for (const command of ["apply", "rollback"]) {
                const result = await cli([command, "--url", url, ...roles]);
                expect(result.code, result.stderr).toBe(1);
                expect(result.stderr).toContain("refusing to migrate through a transaction pooler");
                expect(result.stderr).toContain(
                    `listens on port ${sharedServer().port} as the server sees it (for example postgresql://${sharedServer().user}:***@`,
                );
            }
            expect(await ledgerExists()).toBe(false);
        },
    );

    it("has the schema resource refuse a transaction pooler too (an external databaseUrl may be one)", async () => {
        const { url } = await through("transaction");
        const options = { ...DEFAULT_OPTIONS, appRole: `${db.name}_app`, adminRole: `${db.name}_admin` };
        const create = schemaMigration.create(schemaInputs(parseConnectionUrl(url), options));
        await expect(create).rejects.toThrow("refusing to migrate through a transaction pooler");
        expect(await ledgerExists()).toBe(false);
    });

    it("applies through session pooling, where a connection keeps its server session", async () => {
        const { url, roles } = await through("session");
        const result = await cli(["apply", "--url", url, ...roles]);
        expect(result.code, result.stderr).toBe(0);
        expect(await ledgerExists()).toBe(true);
    });
});
