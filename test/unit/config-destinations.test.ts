// Values that travel on into URLs, .env lines, SQL and pgbouncer.ini are refused at preview when the
// target format cannot carry them; secrets never appear in the error, whatever shape the input has.
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../engine/config/config";
import { configErrorFor } from "../support/config-errors";

const MARKER = "Mk7secretpw";

describe("host", () => {
    it.each(["db.example.com", "10.0.0.7", "::1", "2001:db8::5", "postgres_server", "localhost"])("accepts %s", (host) => {
        // Published on every interface: the default, 127.0.0.1, takes only a host on this machine (attack33-published-ports).
        expect(parseConfig({ host, bindAddress: "0.0.0.0" }).host).toBe(host);
    });

    it.each([
        "localhost\nMEMORY_APP_DATABASE_URL=postgresql://x:y@evil.example/db\n#",
        "db.example.com/other",
        "user@db.example.com",
        "db.example.com:5432",
        "db example com",
        "db.example.com?sslmode=disable",
        "fe80::1%eth0",
        "",
    ])("refuses %j, saying what a host may hold", (host) => {
        const error = configErrorFor({ host });
        expect(error.key).toBe("host");
        expect(error.message).toMatch(
            /must be a host name \(letters, digits, -, _ and dots\) or an IP address \(without an IPv6 zone id\); no spaces, control characters/,
        );
    });

    it("never echoes the credentials of a URL smuggled into the value", () => {
        const error = configErrorFor({ host: `localhost\nDATABASE_URL=postgresql://x:${MARKER}@evil.example/db` });
        expect(error.message).not.toContain(MARKER);
    });
});

describe("password", () => {
    it.each([`sp ace"quote'@#/%?:${MARKER}`, "ünïcødé-pässwörd"])("accepts every printable character: %s", (password) => {
        expect(parseConfig({ password }).password).toBe(password);
    });

    it.each([`${MARKER}\nX=1`, `${MARKER}\r`, `${MARKER}\t`, `${MARKER}\u0000`, `${MARKER}\u2028`, `${MARKER}\ud800`])(
        "refuses a control character in %j",
        (password) => {
            const error = configErrorFor({ password });
            expect(error.key).toBe("password");
            expect(error.message).toContain("must not hold control characters");
            expect(error.message).toContain("every printable character is fine");
            expect(error.message).not.toContain(MARKER);
        },
    );
});

describe("a password PostgreSQL would store as a hash", () => {
    // ALTER ROLE … PASSWORD 'md5<32 lower-case hex>' (or 'SCRAM-SHA-256$…') stores the string as the role's
    // hash, not as a password (PostgreSQL 15's get_password_type): a login with the string itself then fails
    // with 28P01, so the server would refuse the stack's own URL after every up.
    it.each([`md5${"0123456789abcdef".repeat(2)}`, "SCRAM-SHA-256$4096:c2FsdA==$c3RvcmVk:c2VydmVy"])("refuses %j", (password) => {
        const error = configErrorFor({ password });
        expect(error.key).toBe("password");
        expect(error.message).toMatch(/stores as an already hashed password/);
        expect(error.message).not.toContain(password);
    });

    it.each([`md5${"0123456789ABCDEF".repeat(2)}`, `md5${"0123456789abcdef".repeat(2)}x`, "scram-sha-256-is-a-fine-password"])(
        "accepts %s, which it stores as a password",
        (password) => {
            expect(parseConfig({ password }).password).toBe(password);
        },
    );
});

describe("the external server's URL", () => {
    const external = (databaseUrl: string) => ({ provisioner: "external", databaseUrl });

    it.each([
        `postgresql://u:abc#${MARKER}@db.example.com:5432/ybryx`,
        `postgresql://u:abc/${MARKER}@db.example.com:5432/ybryx`,
        `postgresql://u:50%zz${MARKER}@db.example.com/ybryx`,
        `postgresql:postgres:${MARKER}@db.example.com/ybryx`,
        `postgresql://u@db.example.com/ybryx?password=${MARKER}&sslmode=sometimes`,
        `host=db.example.com password=${MARKER}`,
    ])("%s is refused naming databaseUrl, shown with its credentials masked", (url) => {
        const error = configErrorFor(external(url));
        expect(error.key).toBe("databaseUrl");
        expect(error.message).not.toContain(MARKER);
    });

    it.each([
        [`postgresql://u:pw@${MARKER}@db.example.com:5432/ybryx`, `pw@${MARKER}`],
        [`postgresql://u@db.example.com/ybryx?password=${MARKER}`, MARKER],
        [`postgresql://u:${encodeURIComponent(`a%b#${MARKER}`)}@db.example.com/ybryx`, `a%b#${MARKER}`],
    ])("reads %s with pg's parser", (url, password) => {
        expect(parseConfig(external(url)).password).toBe(password);
    });

    it("takes an IPv6 host and connect_timeout", () => {
        const config = parseConfig(external("postgresql://u:pw-12345@[2001:db8::5]:6543/app?connect_timeout=7"));
        expect(config.host).toBe("2001:db8::5");
        expect(config.connectTimeoutSeconds).toBe(7);
    });

    it("refuses a URL with no password, saying where to put it", () => {
        const error = configErrorFor(external("postgresql://u@db.example.com/app"));
        expect(error.key).toBe("databaseUrl");
        expect(error.message).toMatch(/has no password; put it in the URL/);
    });

    it("refuses sslmode prefer and allow, which the postgresql provider cannot use", () => {
        expect(configErrorFor(external("postgresql://u:pw@db.example.com/app?sslmode=prefer")).message).toMatch(
            /has sslmode=prefer; the stack connects with sslmode disable, require, verify-ca, verify-full/,
        );
        expect(configErrorFor({ sslMode: "allow" }).key).toBe("sslMode");
    });
});

describe("the zod schema", () => {
    it("refuses unknown keys in nested objects without showing their value", () => {
        const error = configErrorFor({ client: JSON.stringify({ poolSize: 5, pasword: MARKER }) });
        expect(error.key).toBe("client.pasword");
        expect(error.message).toMatch(/unknown key; known keys: poolSize, maxOverflow/);
        expect(error.message).not.toContain(MARKER);
    });

    it("reads strings, JSON text and JSON values alike", () => {
        const config = parseConfig({ vector: "true", hostPort: " 5433 ", client: '{"poolSize": "4", "prePing": false}' });
        expect(config).toMatchObject({ vector: true, hostPort: 5433, client: { poolSize: 4, prePing: false, maxOverflow: 10 } });
    });

    it("lists every bad value at once, the first one named as the key", () => {
        const error = configErrorFor({ hostPort: "0", vectorIndex: "flat" });
        expect(error.key).toBe("hostPort");
        expect(error.message).toContain(
            "memory-stack:hostPort is 0; must be an integer from 1 to 65535. Also: memory-stack:vectorIndex is",
        );
    });

    it("blames the role that was changed when the app and admin roles collide", () => {
        expect(configErrorFor({ appRole: "memory_admin" })).toMatchObject({ key: "appRole" });
        expect(configErrorFor({ adminRole: "memory_app" })).toMatchObject({ key: "adminRole" });
    });
});
