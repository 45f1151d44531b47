// The roles' passwords reach PostgreSQL as SCRAM verifiers (components/access.ts, engine/render/scram.ts):
// a role given the verifier logs in with the password, through pg as the application connects, and with
// no other; and the statement that set it holds nothing a log line could give away.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../engine/config/config";
import { scramVerifier } from "../../engine/render/scram";
import { dropRoles, freshDatabase, type TestDatabase } from "../support/database";
import { findPgBouncer, startPgBouncer } from "../support/pgbouncer";
import { loginAs } from "../support/login";

const ROLE = `role_verifier_${randomBytes(3).toString("hex")}`;
const pgbouncer = findPgBouncer();
if (!pgbouncer) {
    console.warn("[role-verifier.test] the PgBouncer case is SKIPPED: pgbouncer is not installed; `apt-get install -y pgbouncer`.");
}
let verifier: string;
// What access.ts generates: 32 letters and digits.
const PASSWORD = randomBytes(24)
    .toString("base64")
    .replace(/[^A-Za-z0-9]/g, "x")
    .slice(0, 32);
let db: TestDatabase;

beforeAll(async () => {
    db = await freshDatabase("role_verifier");
    const owner = await db.connect();
    verifier = scramVerifier(PASSWORD, randomBytes(16));
    await owner.query(`create role "${ROLE}" login password '${verifier}'`);
});

afterAll(async () => {
    await db?.drop();
    if (db) await dropRoles(db.server, [ROLE]);
});

function login(password: string, via: { host: string; port: number } = db.server): Promise<string> {
    return loginAs({ ...db.config, host: via.host, port: via.port, user: ROLE, password });
}

describe("a role whose password was given as a SCRAM verifier", () => {
    it("logs in with the password", async () => {
        expect(await login(PASSWORD)).toBe(ROLE);
    });

    it("refuses another password, and the verifier itself", async () => {
        expect(await login(`${PASSWORD}x`)).toBe("28P01");
        const owner = await db.connect();
        const stored = (await owner.query<{ verifier: string }>("select rolpassword as verifier from pg_authid where rolname = $1", [ROLE]))
            .rows[0].verifier;
        expect(stored).toMatch(/^SCRAM-SHA-256\$4096:/);
        expect(stored).not.toContain(PASSWORD);
        expect(await login(stored)).toBe("28P01");
    });
});

describe.skipIf(!pgbouncer)("behind PgBouncer, whose auth file holds that verifier and no password (as the stack's pooler does)", () => {
    it("lets the role in with the password, and PgBouncer into PostgreSQL as the role", async () => {
        const config = parseConfig({ database: db.name });
        const bouncer = await startPgBouncer({ config, server: db.server, users: [{ name: ROLE, scramVerifier: verifier }] });
        try {
            expect(await login(PASSWORD, bouncer)).toBe(ROLE);
            expect(await login(`${PASSWORD}x`, bouncer)).toBe("08P01");
        } finally {
            await bouncer.stop();
        }
    });
});
