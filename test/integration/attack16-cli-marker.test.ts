// No piece of a password reaches the CLI's streams: a 1000-character password of every awkward character,
// cut by unique tokens (Xq000, Xq001, …), through every command (text and JSON) in every way the CLI takes it,
// connecting for real, and through the ways a connection fails (wrong password, no database, TLS required,
// nothing listening). cli-secrets.test.ts looks for a whole marker; a token found here is any part of one.
// cli/main.ts in-process, with captured streams.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../cli/main";
import { dropRoles, freshDatabase, sharedServer, type TestDatabase } from "../support/database";
import { freePort } from "../support/embedded-server";

const SPECIALS = ["@", "#", "%", "/", "?", "&", "'", '"', "\\", " ", "=", "ü", ":", "%41", "+", "$"];
const PASSWORD =
    `-${Array.from({ length: 170 }, (_, i) => `${SPECIALS[i % SPECIALS.length]}Xq${String(i).padStart(3, "0")}`).join("")}`.slice(0, 1000);
const TOKEN = /Xq\d{3}/;

let db: TestDatabase;
let login: string;
let roles: string[];

beforeAll(async () => {
    db = await freshDatabase("attack16_cli");
    login = `${db.name}_owner`;
    roles = ["--app-role", `${db.name}_app`, "--admin-role", `${db.name}_admin`];
    const client = await db.connect();
    await client.query(`create role "${login}" login superuser password '${PASSWORD.replace(/'/g, "''")}'`);
});

afterAll(async () => {
    await db?.drop();
    await dropRoles(sharedServer(), [login, `${db.name}_app`, `${db.name}_admin`]);
});

async function runMain(argv: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; out: string }> {
    const lines: string[] = [];
    const code = await main(argv, env, { stdout: (text) => lines.push(text), stderr: (text) => lines.push(text) });
    return { code, out: lines.join("\n") };
}

function url(options: { password?: string; database?: string; port?: number; query?: string } = {}): string {
    const { host, port } = sharedServer();
    const auth = options.password === undefined ? login : `${login}:${encodeURIComponent(options.password)}`;
    return `postgresql://${auth}@${host}:${options.port ?? port}/${options.database ?? db.name}?sslmode=disable${options.query ?? ""}`;
}

/** Every command once, text and JSON alternating, in an order that leaves the database as it found it; the exit codes. */
async function everyCommand(what: string, argv: string[], env: NodeJS.ProcessEnv): Promise<number[]> {
    const codes: number[] = [];
    for (const [index, command] of ["plan", "apply", "status", "verify", "rollback"].entries()) {
        const { code, out } = await runMain([command, ...argv, ...roles, ...(index % 2 === 1 ? ["--json"] : [])], env);
        expect(out.match(TOKEN)?.[0], `${what}: ${command}: ${out}`).toBeUndefined();
        codes.push(code);
    }
    return codes;
}

describe("a 1000-character password of every awkward character", () => {
    it("runs every command, in every way the CLI takes it, and prints no piece of it", async () => {
        const forms: [string, string[], NodeJS.ProcessEnv][] = [
            ["percent-encoded in --url", ["--url", url({ password: PASSWORD })], {}],
            ["percent-encoded in DATABASE_URL", [], { DATABASE_URL: url({ password: PASSWORD }) }],
            ["?password=", ["--url", url({ query: `&password=${encodeURIComponent(PASSWORD)}` })], {}],
            ["PGPASSWORD", ["--url", url()], { PGPASSWORD: PASSWORD }],
        ];
        for (const [what, argv, env] of forms) {
            expect(await everyCommand(what, argv, env), what).toEqual([0, 0, 0, 0, 0]);
        }
    });

    it("prints no piece of it when the connection fails", async () => {
        const closed = await freePort();
        const forms: [string, string][] = [
            ["a wrong password", url({ password: `${PASSWORD}!` })],
            ["no such database", url({ password: PASSWORD, database: "attack16_nodb" })],
            ["TLS required", url({ password: PASSWORD }).replace("sslmode=disable", "sslmode=require")],
            ["nothing listening", url({ password: PASSWORD, port: closed })],
        ];
        for (const [what, failing] of forms) {
            expect(await everyCommand(what, ["--url", failing], {}), what).toEqual([1, 1, 1, 1, 1]);
            expect(await everyCommand(what, [], { DATABASE_URL: failing }), what).toEqual([1, 1, 1, 1, 1]);
        }
    });
});
