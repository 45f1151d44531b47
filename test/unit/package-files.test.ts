// The README that ships in the npm package links to files that ship with it (docs/ was left out until a
// fresh-eyes attack installed the packed tarball).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO } from "../support/stack-files";

describe("the packed README's links", () => {
    // Was: package.json "files" ships README.md but not docs/, so in a project that installed the tarball
    // (node_modules/memory-stack/README.md) every link to docs/cli.md, docs/lifecycle.md, docs/rls.md, … is
    // dead, and there is no "repository" field for a registry page to resolve them against.
    // Should: ship docs/ (add it to "files"), or link to absolute addresses.
    it("every relative link in README.md points into a path package.json's files ships", () => {
        const readme = readFileSync(join(REPO, "README.md"), "utf8");
        const files = (JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as { files: string[] }).files;
        const links = [...readme.matchAll(/\]\(([^)#:]+)(?:#[^)]*)?\)/g)].map((match) => match[1]);
        expect(links.length).toBeGreaterThan(0);
        const unshipped = links.filter(
            (link) => !files.some((entry) => link === entry || link.startsWith(entry.endsWith("/") ? entry : `${entry}/`)),
        );
        expect(unshipped).toEqual([]);
    });
});
