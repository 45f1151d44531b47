import { describe, expect, it } from "vitest";
import { ConnectionUrlError, connectionUrl, parseConnectionUrl, type ConnectionSettings } from "../../engine/db/url";

const MARKER = "Mk7secretpw";

function refusal(url: string): ConnectionUrlError {
    try {
        parseConnectionUrl(url);
    } catch (error) {
        if (error instanceof ConnectionUrlError) {
            return error;
        }
        throw error;
    }
    throw new Error(`expected ${url} to be refused`);
}

describe("a connection URL read the way libpq reads it", () => {
    it("takes user, password, host, port and database, decoding percent-encoded characters", () => {
        expect(parseConnectionUrl("postgresql://app%40corp:p%40ss%23w%2Fo%3Frd%25@db.example.com:6543/ybryx")).toEqual({
            host: "db.example.com",
            port: 6543,
            database: "ybryx",
            user: "app@corp",
            password: "p@ss#w/o?rd%",
        });
    });

    it("defaults the port to 5432 and accepts postgres:// too", () => {
        expect(parseConnectionUrl("postgres://u:pw@h/d")).toMatchObject({ host: "h", port: 5432, database: "d" });
    });

    it("reads an IPv6 host in brackets", () => {
        expect(parseConnectionUrl("postgresql://u:pw@[::1]:5433/d")).toMatchObject({ host: "::1", port: 5433 });
    });

    it("takes the password from ?password= and the database from ?dbname=", () => {
        expect(parseConnectionUrl(`postgresql://u@h/d?password=${MARKER}`).password).toBe(MARKER);
        expect(parseConnectionUrl("postgresql://u:pw@h/?dbname=other").database).toBe("other");
    });

    it("takes a unix socket directory from ?host=", () => {
        expect(parseConnectionUrl("postgresql://u@/d?host=%2Fvar%2Frun%2Fpostgresql")).toMatchObject({ host: "/var/run/postgresql" });
    });

    // pg-connection-string's decodeURI kept %2F, %23, %3F, %40 ... in the database name; libpq decodes them.
    it.each([
        ["a%2Fb", "a/b"],
        ["a%23b", "a#b"],
        ["a%3Fb", "a?b"],
        ["a%40b", "a@b"],
        ["a%252Fb", "a%2Fb"],
        ["caf%C3%A9", "café"],
    ])("decodes every percent-encoded byte of the database name: %s", (path, database) => {
        expect(parseConnectionUrl(`postgresql://u:pw@h/${path}`).database).toBe(database);
        expect(parseConnectionUrl(`postgresql://u@/${path}?host=%2Ftmp`).database).toBe(database);
    });

    it("has an empty password when the URL has none", () => {
        expect(parseConnectionUrl("postgresql://u@h/d").password).toBe("");
    });

    it.each(["disable", "allow", "prefer", "require", "verify-full"] as const)("keeps sslmode=%s", (mode) => {
        expect(parseConnectionUrl(`postgresql://u:pw@h/d?sslmode=${mode}`).sslMode).toBe(mode);
    });

    it("reads connect_timeout as libpq does: seconds, 1 counts as 2, 0 waits indefinitely", () => {
        expect(parseConnectionUrl("postgresql://u:pw@h/d?connect_timeout=7").connectTimeoutSeconds).toBe(7);
        expect(parseConnectionUrl("postgresql://u:pw@h/d?connect_timeout=1").connectTimeoutSeconds).toBe(2);
        expect(parseConnectionUrl("postgresql://u:pw@h/d?connect_timeout=0").connectTimeoutSeconds).toBe(0);
    });

    it("takes a raw @ in the password up to the last @, as pg does", () => {
        expect(parseConnectionUrl(`postgresql://postgres:pw@${MARKER}@localhost:5432/ybryx`)).toMatchObject({
            user: "postgres",
            password: `pw@${MARKER}`,
            host: "localhost",
        });
    });
});

describe("a URL it cannot read", () => {
    it.each<[string, RegExp]>([
        [`postgresql://u:abc#${MARKER}@localhost:5432/ybryx`, /raw #; percent-encode .* # as %23/],
        // From attack24: a quoted URL (the stack's dotenv quotes one holding an &, and docker run --env-file keeps the
        // quotes) and one after a space were told they must start with postgresql://, which they seem to.
        [`'postgresql://u:${MARKER}@h/d?sslmode=disable&connect_timeout=5'`, /is wrapped in quotes, .*give it without them/],
        [`"postgresql://u:${MARKER}@h/d"`, /is wrapped in quotes/],
        [` postgresql://u:${MARKER}@h/d`, /starts with white space/],
        // From attack24: a database named "dé#1" was told to encode the user or password.
        [`postgresql://u:${MARKER}@localhost:5432/dé#1`, /raw #; percent-encode these characters in a user, password or database name/],
        [`postgresql://u:abc/${MARKER}@localhost:5432/ybryx`, /cannot be read as a URL.*\/ as %2F/],
        [`postgresql://u:50%zz${MARKER}@localhost/ybryx`, /a % that does not start a percent-encoded byte.*% as %25/],
        [`postgresql:postgres:${MARKER}@localhost/ybryx`, /must start with postgresql:\/\//],
        [`host=localhost user=u password=${MARKER} dbname=d`, /keyword=value string; give a URL/],
        [`mysql://u:${MARKER}@h/d`, /must start with postgresql:\/\//],
        [`postgresql://u:${MARKER}@h`, /must name a user, a host and a database/],
        [`postgresql://u:${MARKER}@h:99999/d`, /cannot be read as a URL/],
        [`postgresql://u:${MARKER}@h1,h2/d`, /several hosts/],
        [`postgresql://u:${MARKER}@h1:5432,h2:5433/d`, /several hosts/],
        [`postgresql://u:${MARKER}@[::1]:5432,[::2]:5433/d?sslmode=prefer`, /several hosts/],
        [`postgresql://u:${MARKER}@h/d?host=h1,h2`, /several hosts/],
        [`postgresql://u:${MARKER}@h/d?sslmode=maybe`, /sslmode=maybe; sslmode must be one of disable, allow, prefer/],
        [`postgresql://u:${MARKER}@h/d?connect_timeout=soon`, /connect_timeout=soon; it is a whole number of seconds/],
        [`postgresql://u:${MARKER}@h/d?pgbouncer=true`, /parameter pgbouncer, which memory-stack does not use/],
        [`postgresql://u:${MARKER}@h/d?sslmode=verify-ca`, /verify-ca without sslrootcert/],
        [`postgresql://u:${MARKER}@h/d?sslmode=verify-full&sslrootcert=/nonexistent/ca.crt`, /SSL file that cannot be read \(ENOENT\)/],
        [`postgresql://u:${MARKER}@h/d?sslmode=verify-ca&sslrootcert=/nonexistent/ca.crt`, /SSL file that cannot be read \(ENOENT\)/],
        [`postgresql://u:${MARKER}@h/d?sslmode=require&sslrootcert=/`, /SSL file that cannot be read \(EISDIR\)/],
        [`postgresql://u:${MARKER}@h/d?sslrootcert=system`, /sslrootcert=system; .*name the CA file .*sslmode=verify-full/],
        [`postgresql://u:${MARKER}@h/d?sslmode=verify-full&sslrootcert=system&connect_timeout=5`, /has sslrootcert=system/],
        // libpq refuses a second = in a query pair and an empty pair before another; the parser read ?password=a=b as "a=b".
        [`postgresql://u@h/d?password=${MARKER}=x`, /a query parameter with a second =, .*percent-encode = in a value as %3D/],
        [`postgresql://u@h/d?sslmode=disable&password=a=${MARKER}`, /a query parameter with a second =/],
        [`postgresql://u:${MARKER}@h/d?&sslmode=disable`, /an empty query parameter/],
        [`postgresql://u:${MARKER}@h/d?sslmode=disable&&connect_timeout=5`, /an empty query parameter/],
    ])("%s is refused, naming why, with every credential masked", (url, reason) => {
        const error = refusal(url);
        expect(error.message).toMatch(reason);
        expect(error.shown + error.message).not.toContain(MARKER);
    });

    it("passes over an sslrootcert that does not exist outside verify-ca and verify-full, as libpq, keeping it for the strings it builds", () => {
        for (const mode of ["", "sslmode=prefer&", "sslmode=require&", "sslmode=disable&"]) {
            const settings = parseConnectionUrl(`postgresql://u@h/d?${mode}sslrootcert=%2Fnonexistent%2Fca.crt`);
            expect(settings.sslRootCert).toBe("/nonexistent/ca.crt");
        }
        expect(parseConnectionUrl("postgresql://u@h/d?sslrootcert=/nonexistent/ca.crt&sslmode=require").sslRootCert).toBe(
            "/nonexistent/ca.crt",
        );
    });

    it("takes a trailing & and a percent-encoded = in a query value, as libpq does", () => {
        expect(parseConnectionUrl("postgresql://u@h/d?sslmode=disable&").sslMode).toBe("disable");
        expect(parseConnectionUrl("postgresql://u@h/d?password=a%3Db").password).toBe("a=b");
    });

    it("shows the URL with the user kept and the password masked", () => {
        expect(refusal(`postgresql://u:abc#${MARKER}@localhost:5432/ybryx`).shown).toBe("postgresql://u:***@localhost:5432/ybryx");
        expect(refusal(`postgresql://u@h/d?password=${MARKER}&sslmode=maybe`).shown).toBe("postgresql://u@h/d?password=***&sslmode=maybe");
    });
});

describe("connectionUrl", () => {
    it.each<ConnectionSettings>([
        { host: "db.example.com", port: 5432, database: "ybryx", user: "postgres", password: "p@ss#w/o?rd% :x" },
        { host: "::1", port: 5433, database: "d", user: "u", password: "pw", sslMode: "verify-full", connectTimeoutSeconds: 5 },
        { host: "/var/run/postgresql", port: 5432, database: "d", user: "u", password: "" },
        { host: "h", port: 5432, database: "a/b#c?d@e:f,g$h%2Fi j", user: "u", password: "pw" },
    ])("writes a URL that reads back to the same settings: %j", (settings) => {
        expect(parseConnectionUrl(connectionUrl(settings))).toEqual(settings);
    });
});
