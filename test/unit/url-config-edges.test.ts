// URLs and config values at their edges, from a fresh-eyes attack: percent-encoded database
// names as libpq decodes them, config values that a URL could not carry (an IPv6 zone id, a lone
// surrogate), and an external databaseUrl's credentials in a config error. No database needed.
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../engine/config/config";
import { configErrorFor } from "../support/config-errors";
import { redact } from "../../engine/db/redact";
import { connectionUrl, parseConnectionUrl } from "../../engine/db/url";

const MARKER = "Mk7secretpw";

describe("percent-encoded database names", () => {
    // Was: the path is decoded with decodeURI, which leaves %2F %23 %3F %40 %3A %2B %2C %24 encoded, while
    // %20 and %25 are decoded. libpq decodes every %XX: postgresql://u@h/a%2Fb names the database "a/b".
    // Here the CLI would connect to a database literally named "a%2Fb". (The user name is decoded fully.)
    // Should: decode the database like the user (and like ?dbname=, which is already decoded).
    it.each([
        ["a%2Fb", "a/b"],
        ["a%23b", "a#b"],
        ["a%3Fb", "a?b"],
        ["a%40b", "a@b"],
        ["a%3Ab", "a:b"],
        ["a%2Bb", "a+b"],
        ["a%24b", "a$b"],
    ])("postgresql://u:pw@h/%s names the database %s", (path, database) => {
        expect(parseConnectionUrl(`postgresql://u:pw@h/${path}`).database).toBe(database);
    });

    // Was: connectionUrl promises "every part encoded so that parseConnectionUrl gives the same settings
    // back"; for these database names it does not (same cause).
    it.each(["a/b", "a#b", "a?b", "a@b", "a:b", "a,b", "a$b"])("connectionUrl round-trips the database %j", (database) => {
        const settings = { host: "h", port: 5432, database, user: "u", password: "pw" };
        expect(parseConnectionUrl(connectionUrl(settings))).toEqual(settings);
    });
});

describe("config values reach URLs intact", () => {
    // Was: host "fe80::1%eth0" passes parseConfig (node's isIP accepts an IPv6 zone), and connectionUrl
    // writes postgresql://…@[fe80::1%eth0]:5432/… — a URL memory-stack's own parser refuses ("a % that does
    // not start a percent-encoded byte"), so DATABASE_URL in the stack's dotenv is unusable with the CLI.
    // The RFC 6874 spelling [fe80::1%25eth0], which libpq reads (it decodes the host), is refused too.
    // Should: either refuse zone ids in the host key, or encode the zone as %25 and read it back.
    it("an IPv6 host with a zone id parseConfig accepts round-trips through the stack's own URL", () => {
        const host = "fe80::1%eth0";
        let accepted: string | undefined;
        try {
            accepted = parseConfig({ host }).host;
        } catch {
            return; // refusing the zone id is a fix too
        }
        const settings = { host: accepted!, port: 5432, database: "ybryx", user: "postgres", password: "pw" };
        expect(parseConnectionUrl(connectionUrl(settings))).toEqual(settings);
    });

    // Was: a password with a lone UTF-16 surrogate (JSON "\ud800" in Pulumi config) passes parseConfig, then
    // connectionUrl and redact() both throw a bare "URIError: URI malformed" (encodeURIComponent) — the
    // symptom issue 16 names, with no key named. redact() throwing means the providers cannot report any error.
    // Should: parseConfig refuses it naming "password" (not well-formed Unicode), and redact never throws.
    it("a password with a lone surrogate is refused by parseConfig, and redact never throws", () => {
        const password = "abcdefgh\ud800";
        expect(() => parseConfig({ password })).toThrow(/password/);
        expect(() => redact("some message", [password])).not.toThrow();
    });
});

describe("an external databaseUrl in a config error", () => {
    // Was: the same masking gaps reach `pulumi preview`: parseConfig's error for provisioner: external quotes
    // the databaseUrl with the password visible when it holds a raw & inside ?password=, lacks its @, or
    // spells the password key percent-encoded. Should: the marker never appears in the ConfigError.
    it.each([
        `postgresql://u@h/db?password=ab&${MARKER}`,
        `postgresql://u:${MARKER}/db`,
        `postgresql://u@h/db?pass%77ord=${MARKER}&sslmode=bogus`,
    ])("%s", (databaseUrl) => {
        const error = configErrorFor({ provisioner: "external", databaseUrl });
        expect(error.key).toBe("databaseUrl");
        expect(error.message).not.toContain(MARKER);
    });
});
