// The fast path's shortcuts keep the checks they skip for the shipped SQL: a text the build did not
// parse (an edited shipped file) is parsed at run time and refused when it holds transaction control or
// is malformed; pg, loaded with the global Response hidden for a moment, leaves Response and fetch as
// they were.
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseSqlFile } from "../../../engine/migrate/execute";
import { parsedAtBuild } from "../../../engine/migrate/parsed-at-build";
import { DEFAULT_SCHEMA_OPTIONS, loadMigrationSources, renderMigrations } from "../../../engine/migrate/render";

const ROOT = join(__dirname, "..", "..", "..");
const [shipped] = renderMigrations(loadMigrationSources(), DEFAULT_SCHEMA_OPTIONS);

describe("a shipped file edited after the build", () => {
    it("is parsed again and refused when it now commits", async () => {
        const edited = `${shipped.sql}\ncommit;\n`;
        expect(parsedAtBuild(shipped.sql)).toBeDefined();
        expect(parsedAtBuild(edited)).toBeUndefined();

        await expect(parseSqlFile(shipped.name, edited)).rejects.toThrow(
            `${shipped.name} line ${edited.split("\n").length - 1}: "commit" — the engine runs each migration in its own transaction`,
        );
    });

    it("is refused, naming the line, when it is now malformed", async () => {
        const edited = `${shipped.sql}\ncreate tabel broken (id int);\n`;

        await expect(parseSqlFile(shipped.name, edited)).rejects.toThrow(
            `${shipped.name} line ${edited.split("\n").length - 1}: syntax error at or near "tabel"; nothing was run`,
        );
    });
});

describe("pg loaded by the compiled engine", () => {
    it("leaves the global Response as it was, and fetch works in the same process", () => {
        const script = `
            const http = require("node:http");
            const before = Object.getOwnPropertyDescriptor(globalThis, "Response");
            require("./dist/engine/db/client.js");
            const after = Object.getOwnPropertyDescriptor(globalThis, "Response");
            const server = http.createServer((request, response) => response.end("pong")).listen(0, "127.0.0.1", async () => {
                const answer = await fetch("http://127.0.0.1:" + server.address().port + "/");
                const same = ["get", "set", "value", "enumerable", "configurable", "writable"].every((key) => before[key] === after[key]);
                console.log(JSON.stringify({ same, isResponse: answer instanceof Response, text: await answer.text(), built: await new Response("x").text() }));
                server.close();
            });`;
        const result = JSON.parse(execFileSync(process.execPath, ["-e", script], { cwd: ROOT, encoding: "utf8" })) as Record<
            string,
            unknown
        >;

        expect(result).toEqual({ same: true, isResponse: true, text: "pong", built: "x" });
    });
});
