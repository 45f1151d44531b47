// Why config refuses a password that SCRAM's SASLprep rewrites (engine/config/saslprep.ts): on a real
// PostgreSQL 15 such a password logs in with some clients and not with others. PostgreSQL keeps the verifier
// of the rewritten form ("Passw0rd™" is stored as "Passw0rdTM"), which a client that sends the raw password —
// lib/pq in the postgresql provider, JDBC — cannot match; and where PostgreSQL's SASLprep refuses the string (an
// emoji is unassigned in its Unicode 3.2 tables) it keeps the raw form, which node-postgres, rewriting it anyway,
// cannot match, while psql (libpq) logs in. Config refuses both passwords; the CLI, given such a URL, says why
// psql logs in where it cannot (cli/connect-advice.ts).
import { spawnSync } from "node:child_process";
import { createHash, createHmac, pbkdf2Sync, randomBytes } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { Client, escapeLiteral } from "pg";
import { connectionUrl } from "../../engine/db/url";
import { cli } from "../support/cli";
import { configErrorFor } from "../support/config-errors";
import { dropRoles, sharedServer, withClient } from "../support/database";
import { loginAs } from "../support/login";

const server = sharedServer();
const suffix = randomBytes(4).toString("hex");
const roles: string[] = [];

async function roleWith(password: string): Promise<string> {
    const role = `attack26_saslprep_${roles.length}_${suffix}`;
    roles.push(role);
    await withClient({ ...server, database: "postgres" }, (client: Client) =>
        client.query(`set password_encryption = 'scram-sha-256'; create role ${role} login password ${escapeLiteral(password)}`),
    );
    return role;
}

/** The StoredKey a client that hashes `password` as it is derives with the role's salt, beside the one PostgreSQL stored. */
async function storedKeys(role: string, password: string): Promise<{ stored: string; raw: string }> {
    const verifier = await withClient({ ...server, database: "postgres" }, async (client: Client) => {
        const rows = await client.query<{ v: string }>("select rolpassword as v from pg_authid where rolname = $1", [role]);
        return rows.rows[0].v;
    });
    const [, iterations, salt, stored] = /^SCRAM-SHA-256\$(\d+):([^$]+)\$([^:]+):/.exec(verifier)!;
    const salted = pbkdf2Sync(password, Buffer.from(salt, "base64"), Number(iterations), 32, "sha256");
    const clientKey = createHmac("sha256", salted).update("Client Key").digest();
    return { stored, raw: createHash("sha256").update(clientKey).digest("base64") };
}

function psqlLogsIn(user: string, password: string): boolean {
    const url = connectionUrl({ host: server.host, port: server.port, database: "postgres", user, password });
    return spawnSync("psql", ["-X", "-tA", "-c", "select 1", url], { encoding: "utf8", timeout: 30_000 }).stdout.trim() === "1";
}

afterAll(async () => {
    await dropRoles(server, roles);
});

describe("a password SASLprep rewrites, on PostgreSQL 15", () => {
    it("is stored as its rewritten form: a client that sends it as typed (lib/pq, JDBC) cannot log in; config refuses it", async () => {
        const password = "Passw0rd™-secret";
        const role = await roleWith(password);

        const keys = await storedKeys(role, password);

        expect(keys.raw).not.toBe(keys.stored);
        expect(keys.stored).toBe((await storedKeys(role, "Passw0rdTM-secret")).raw);
        expect(configErrorFor({ password }).key).toBe("password");
    });

    it("beside an emoji is stored as typed: psql logs in, the stack's own client (node-postgres) cannot; config refuses it", async () => {
        const password = "🔑Passw0rd™";
        const role = await roleWith(password);

        expect(psqlLogsIn(role, password)).toBe(true);
        expect(await loginAs({ host: server.host, port: server.port, database: "postgres", user: role, password })).toBe("28P01");
        expect(configErrorFor({ password }).key).toBe("password");
        // The CLI, given that URL, says why psql logs in where it cannot, without showing the password.
        const url = connectionUrl({ host: server.host, port: server.port, database: "postgres", user: role, password });
        const run = await cli(["status"], { DATABASE_URL: url });
        expect(run.code).not.toBe(0);
        expect(run.stderr).toMatch(/28P01.*SASLprep rewrites.*psql may log in where memory-stack cannot/);
        expect(run.stderr).not.toMatch(/psql with the same URL gets the same answer/);
        expect(run.stderr + run.stdout).not.toContain("Passw0rd");
    });

    it("is not the case for unicode SASLprep leaves as it is: every client logs in", async () => {
        const password = "café-é🔑-密码-secret";
        const role = await roleWith(password);

        expect((await storedKeys(role, password)).raw).toBe((await storedKeys(role, password)).stored);
        expect(psqlLogsIn(role, password)).toBe(true);
        expect(await loginAs({ host: server.host, port: server.port, database: "postgres", user: role, password })).toBe(role);
    });
});
