// No password is ever printed, whatever form the URL takes: every command, run with every valid and
// malformed URL form from issue 16 (raw @ # / %, ?password=, PGPASSWORD, a URL without //, a keyword
// string, a wrong password), through --url and DATABASE_URL, in text and JSON. The passwords hold a
// marker; it must never reach stdout or stderr.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { COMMAND_NAMES } from "../../cli/commands/names";
import { cli, type Run } from "../support/cli";
import { dropRoles, freshDatabase, sharedServer, type TestDatabase } from "../support/database";

const MARKER = "Mk7secretpw";
/** Every character a URL needs encoded, around the marker. */
const PASSWORD = `p@ss#w/o?rd%:${MARKER} x`;
/** A password a URL can carry raw (pg reads up to the last @). */
const AT_PASSWORD = `tail@${MARKER}`;

let db: TestDatabase;
let roles: string[];
let login: string;
let atLogin: string;

beforeAll(async () => {
    db = await freshDatabase("cli_secrets");
    login = `${db.name}_login`;
    atLogin = `${db.name}_at`;
    roles = ["--app-role", `${db.name}_app`, "--admin-role", `${db.name}_admin`];
    const client = await db.connect();
    const quoted = (value: string) => `'${value.replace(/'/g, "''")}'`;
    await client.query(`create role "${login}" login superuser password ${quoted(PASSWORD)}`);
    await client.query(`create role "${atLogin}" login superuser password ${quoted(AT_PASSWORD)}`);
});

afterAll(async () => {
    await db?.drop();
    await dropRoles(sharedServer(), [login, atLogin, `${db.name}_app`, `${db.name}_admin`]);
});

function address(): string {
    const server = sharedServer();
    return `${server.host}:${server.port}/${db.name}`;
}

function expectNoMarker(run: Run, what: string): void {
    expect(run.stdout, `stdout of ${what}`).not.toContain(MARKER);
    expect(run.stderr, `stderr of ${what}`).not.toContain(MARKER);
}

/** Each command in an order that leaves the database as it found it. */
async function everyCommand(what: string, url: string | undefined, env: NodeJS.ProcessEnv = {}): Promise<Run[]> {
    const runs: Run[] = [];
    for (const [index, command] of ["plan", "apply", "status", "verify", "rollback"].entries()) {
        const json = index % 2 === 1 ? ["--json"] : [];
        const run = await cli([command, ...(url === undefined ? [] : ["--url", url]), ...roles, ...json], env);
        expectNoMarker(run, `${what}: ${command}`);
        runs.push(run);
    }
    return runs;
}

// One case per form, five runs of the CLI each: all 25 in one case took 24 s of its 60 in CI, 40 s on a busier machine.
describe("valid URL forms, connecting for real", () => {
    const encoded = () => `postgresql://${login}:${encodeURIComponent(PASSWORD)}@${address()}`;
    it.each<[string, () => [string | undefined, NodeJS.ProcessEnv]]>([
        ["percent-encoded in --url", () => [encoded(), {}]],
        ["percent-encoded in DATABASE_URL", () => [undefined, { DATABASE_URL: encoded() }]],
        ["?password=", () => [`postgresql://${login}@${address()}?password=${encodeURIComponent(PASSWORD)}`, {}]],
        ["PGPASSWORD", () => [`postgresql://${login}@${address()}`, { PGPASSWORD: PASSWORD }]],
        ["a raw @ in the password", () => [`postgresql://${atLogin}:${AT_PASSWORD}@${address()}`, {}]],
    ])("%s: every command exits 0 and never prints the password", async (what, form) => {
        const [url, env] = form();
        expect(COMMAND_NAMES).toHaveLength(5);
        const runs = await everyCommand(what, url, env);
        expect(
            runs.map((run) => run.code),
            `${what}: ${runs.map((run) => run.stderr).join("\n")}`,
        ).toEqual([0, 0, 0, 0, 0]);
    });
});

describe("URL forms that cannot connect", () => {
    it.each<[string, number, string]>([
        ["a raw # in the password", 2, `postgresql://u:abc#${MARKER}@localhost:5432/ybryx`],
        ["a raw / in the password", 2, `postgresql://u:abc/${MARKER}@localhost:5432/ybryx`],
        ["a raw % in the password", 2, `postgresql://u:50%zz${MARKER}@localhost:5432/ybryx`],
        ["a URL without //", 2, `postgresql:postgres:${MARKER}@localhost/ybryx`],
        ["a URL without its colon", 2, `postgresql//postgres:${MARKER}@localhost/ybryx`],
        ["no scheme at all", 2, `postgres:${MARKER}@localhost/ybryx`],
        ["?password= holding @ beside a userinfo password", 2, `postgresql://u:x@y@localhost/ybryx?password=p@${MARKER}&sslmode=bogus`],
        ["?password= holding raw # and spaces", 2, `postgresql://u@localhost/ybryx?password=a #b ${MARKER}&sslmode=bogus`],
        ["a keyword=value string", 2, `host=localhost user=postgres password=${MARKER} dbname=ybryx`],
        ["?password= with a bad sslmode", 2, `postgresql://u@localhost/ybryx?password=${MARKER}&sslmode=sometimes`],
        ["a wrong password", 1, `postgresql://wrong_user_${MARKER.length}:${MARKER}@127.0.0.1:${"PORT"}/ybryx`],
    ])("%s: exit %i from every command, in --url and DATABASE_URL, text and JSON", async (_what, code, template) => {
        const url = template.replace("PORT", String(sharedServer().port));
        for (const command of COMMAND_NAMES) {
            for (const [args, env] of [
                [["--url", url], {}],
                [["--json"], { DATABASE_URL: url }],
            ] as const) {
                const run = await cli([command, ...args], env);
                expect(run.code, run.stderr).toBe(code);
                expectNoMarker(run, `${command} ${args.join(" ")}`);
            }
        }
    });
});
