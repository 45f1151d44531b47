import { describe, expect, it } from "vitest";
import { maskUrl, redact, urlSecrets } from "../../engine/db/redact";

const MARKER = "Mk7secretpw";

describe("maskUrl", () => {
    it.each<[string, string]>([
        [`postgresql://u:${MARKER}@h:5432/d`, "postgresql://u:***@h:5432/d"],
        [`postgresql://u:abc#${MARKER}@h/d`, "postgresql://u:***@h/d"],
        [`postgresql://u:abc/${MARKER}@h/d`, "postgresql://u:***@h/d"],
        [`postgresql://postgres:pw@${MARKER}@h/d`, "postgresql://postgres:***@h/d"],
        [`postgresql://u:50%${MARKER}@h/d`, "postgresql://u:***@h/d"],
        [`postgresql://u@h/d?sslmode=require&password=${MARKER}`, "postgresql://u@h/d?sslmode=require&password=***"],
        [`postgresql:postgres:${MARKER}@h/d`, "postgresql:***@h/d"],
        [`postgres:${MARKER}@h/d`, "postgres:***@h/d"],
        [`postgresql//u:${MARKER}@h/d`, "postgresql//u:***@h/d"],
        [`u:${MARKER}@h/d`, "u:***@h/d"],
        [`postgresql://u:x@y@h/d?password=p@${MARKER}&sslmode=bogus`, "postgresql://u:***@h/d?password=***&sslmode=bogus"],
        [`postgresql://u@h/d?password=a b#${MARKER}&sslmode=require`, "postgresql://u@h/d?password=***&sslmode=require"],
        [`postgresql://u@h/d?password=ab&${MARKER}`, "postgresql://u@h/d?password=***"],
        [`postgresql://u@h/d?password=ab&x=${MARKER}&sslmode=require`, "postgresql://u@h/d?password=***&sslmode=require"],
        [`postgresql://u@h/d?pass%77ord=${MARKER}&sslmode=bogus`, "postgresql://u@h/d?pass%77ord=***&sslmode=bogus"],
        [`postgresql://postgres:${MARKER}/ybryx`, "postgresql://postgres:***/ybryx"],
        [`postgresql://postgres:${MARKER} localhost/ybryx`, "postgresql://postgres:***/ybryx"],
        ["postgresql://h:5432/d", "postgresql://h:5432/d"],
        ["postgresql://[::1]:5432/d", "postgresql://[::1]:5432/d"],
        ["postgresql://u@h/d", "postgresql://u@h/d"],
        ["postgresql://u@[::1]:5432/d", "postgresql://u@[::1]:5432/d"],
    ])("%s → %s", (url, masked) => {
        expect(maskUrl(url)).toBe(masked);
    });
});

describe("redact", () => {
    it("masks a known secret as typed, percent-encoded and JSON-escaped", () => {
        const secret = `a"b c/${MARKER}`;
        const text = `raw ${secret} url ${encodeURIComponent(secret)} json ${JSON.stringify({ secret })}`;
        const out = redact(text, [secret]);
        expect(out).not.toContain(MARKER);
        expect(out).toBe(`raw *** url *** json {"secret":"***"}`);
    });

    it("masks URL credentials and password= in text whose secrets it was not told", () => {
        const text = [
            `cannot connect to postgresql://app:pw@${MARKER}@db:5432/x`,
            `dsn host=db password=${MARKER} user=app`,
            `PGPASSWORD=${MARKER}`,
            `{"password":"${MARKER}"}`,
            `see postgresql:postgres:${MARKER}@db/x`,
        ].join("\n");
        expect(redact(text)).not.toContain(MARKER);
        expect(redact(text)).toContain("postgresql://app:***@db:5432/x");
    });

    it("leaves the example URL of a hint as it is, and masks anything else in its place", () => {
        const hint = "give a URL: postgresql://user:password@host:5432/database";
        expect(redact(hint)).toBe(hint);
        expect(redact(`postgresql://user:password${MARKER}@host/d postgresql://user2:password@host/d`)).toBe(
            "postgresql://user:***@host/d postgresql://user2:***@host/d",
        );
    });

    it("leaves a message without secrets alone", () => {
        const text = "memory-stack apply: postgres@db:5432/x (jsonb); the password is never printed";
        expect(redact(text, ["pw"])).toBe(text);
    });
});

describe("urlSecrets", () => {
    it("finds what could be a password in a URL that does not parse", () => {
        expect(urlSecrets(`postgresql://u:abc#${MARKER}@h/d`)).toContain(`abc#${MARKER}`);
        expect(urlSecrets(`postgresql://u@h/d?password=${encodeURIComponent(`${MARKER}/`)}`)).toContain(`${MARKER}/`);
        expect(urlSecrets(`postgresql//u:${MARKER}@h/d`)).toContain(MARKER);
        expect(urlSecrets(`u:${MARKER}@h/d`)).toContain(MARKER);
        expect(urlSecrets(`postgresql://u:pw@h/d?password=p@${MARKER}`)).toEqual(expect.arrayContaining(["pw", `p@${MARKER}`]));
        expect(urlSecrets(`postgresql://u@h/d?password=ab&${MARKER}&sslmode=require`)).toContain(`ab&${MARKER}`);
        expect(urlSecrets(`postgresql://u@h/d?%70assword=${MARKER}`)).toContain(MARKER);
        expect(urlSecrets(`postgresql://u:${MARKER}/d`)).toContain(MARKER);
    });
});
