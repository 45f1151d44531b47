// URL forms whose password reached stdout or stderr until a fresh-eyes attack found them: a raw &
// inside ?password=, a URL that lost its @, a percent-encoded parameter name; and the example URL of a hint,
// which the redaction masked. Each runs the CLI in-process (cli/main.ts with captured streams); none of
// them connects, they are all usage errors.
import { describe, expect, it } from "vitest";
import { main } from "../../cli/main";

const MARKER = "Mk7secretpw";

async function runMain(argv: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; out: string }> {
    const lines: string[] = [];
    const code = await main(argv, env, { stdout: (text) => lines.push(text), stderr: (text) => lines.push(text) });
    return { code, out: lines.join("\n") };
}

describe("a password is never printed", () => {
    // Was: a password holding a raw & given as ?password= is masked only up to the &; the rest is
    // echoed in the "not a key=value pair" refusal, in text and in --json, from --url and DATABASE_URL.
    // Should: refuse (exit 2) without the marker; e.g. mask everything after ?password= that does not
    // read as a known parameter, or never echo the query string of a refused URL.
    it.each([
        ["--url, text", ["plan", "--url", `postgresql://u@h/db?password=ab&${MARKER}`], {}],
        ["--url, JSON", ["apply", "--json", "--url", `postgresql://u@h/db?password=ab&${MARKER}`], {}],
        ["DATABASE_URL", ["status"], { DATABASE_URL: `postgresql://u@h/db?password=p%40ss&x ${MARKER}&sslmode=require` }],
        ["--repair", ["apply", "--repair", "--url", `postgresql://u@h/db?sslmode=disable&password=a&${MARKER}`], {}],
    ])("a raw & inside ?password= (%s)", async (_what, argv, env) => {
        const { code, out } = await runMain(argv as string[], env as NodeJS.ProcessEnv);
        expect(code).toBe(2);
        expect(out).not.toContain(MARKER);
    });

    // Was: a URL whose userinfo lost its @ (postgresql://user:password/db, postgresql://user:password host/db)
    // is echoed whole: the masking rule needs an @ to find the password. (libpq would read the password
    // as a port; the contract here is stricter: the marker never reaches the streams.)
    // Should: with no @, mask from the first colon after the scheme's // to the next / ? or end.
    it.each([
        [`postgresql://postgres:${MARKER}/ybryx`],
        [`postgresql://postgres:${MARKER}/127.0.0.1/ybryx`],
        [`postgresql://postgres:${MARKER} localhost/ybryx`],
    ])("a URL without its @: %s", async (url) => {
        for (const [argv, env] of [
            [["plan", "--url", url], {}],
            [["verify", "--json"], { DATABASE_URL: url }],
        ] as const) {
            const { code, out } = await runMain([...argv], env);
            expect(code).toBe(2);
            expect(out).not.toContain(MARKER);
        }
    });
});

describe("a percent-encoded parameter name", () => {
    // Was: pg-connection-string (and libpq) decode parameter names, so ?pass%77ord=… and ?%70assword=… are the
    // password; the masking rule matches the literal "password=" only, and a refusal for another reason
    // (here a bad sslmode or port) echoes the value. Should: mask by the decoded name (or never echo a
    // refused URL's query string).
    it.each([`postgresql://u@h/db?pass%77ord=${MARKER}&sslmode=bogus`, `postgresql://u@h/db?%70assword=${MARKER}&port=0`])(
        "%s",
        async (url) => {
            const { code, out } = await runMain(["plan", "--json", "--url", url]);
            expect(code).toBe(2);
            expect(out).not.toContain(MARKER);
        },
    );
});

describe("the hints a new user reads", () => {
    // Was: the redaction pass masks the example URL inside hints too, so a user with a broken URL is told
    // to write "postgresql://user:***@host:5432/database" (and "put it in the URL (postgresql://user:***@host/database").
    // Should: the example keeps a visible placeholder for the password (e.g. spare the fixed example
    // text from the shape rule, or write it so that it is not credential-shaped).
    it("the example URL in a refusal still shows where the password goes", async () => {
        const { code, out } = await runMain(["plan", "--url", "postgresql://u:pw@h:99999/db"]);
        expect(code).toBe(2);
        expect(out).toMatch(/postgresql:\/\/user:(password|<password>|PASSWORD)@host/);
        expect(out).not.toContain("user:***@host");
    });
});
