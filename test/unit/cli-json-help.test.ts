// Under --json, stdout is one JSON document for every outcome, --version and help included (they printed
// text until a fresh-eyes attack tried them).
import { describe, expect, it } from "vitest";
import { main } from "../../cli/main";

describe("--json with --version and help", () => {
    // Was: `memory-stack --version --json` and `memory-stack help --json` print plain text on stdout, so a
    // pipeline that parses stdout as JSON (as docs/cli.md promises for "the result") breaks. Should: a JSON
    // document, e.g. {"ok":true,"version":"0.1.0"} and {"ok":true,"usage":…,"help":…}.
    it.each([[["--version", "--json"]], [["help", "--json"]], [["--help", "--json"]]])("%j prints JSON on stdout", async (argv) => {
        const stdout: string[] = [];
        const code = await main(argv, {}, { stdout: (text) => stdout.push(text), stderr: () => undefined });
        expect(code).toBe(0);
        const document = JSON.parse(stdout.join("\n")) as { ok: boolean; version?: string; help?: string };
        expect(document.ok).toBe(true);
        expect(document.version ?? document.help).toBeTruthy();
    });
});
