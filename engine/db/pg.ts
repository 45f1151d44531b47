// node-postgres, from the one-file copy the build makes (dist/vendor/pg.js by scripts/build.mjs; the
// package itself when there is no build), loaded without the cost of its runtime probe. At load, pg
// asks whether it runs in a Cloudflare Worker; on Node 20, which has no `navigator` global, it asks by
// touching the global `Response`, and that one access loads Node's whole fetch implementation: about
// 12 ms of every `memory-stack` start, for an answer that is always "no" here. `Response` is hidden
// for that moment and put back as it was.
import { existsSync } from "node:fs";
import * as path from "node:path";
import type * as PgModule from "pg";
import { PACKAGE_ROOT } from "../paths";
import { requireCompiled } from "./code-cache";

/** pg as one file: node reads and compiles one module instead of thirty (with the build's code cache: code-cache.ts). */
export const BUNDLED: string = path.join(PACKAGE_ROOT, "dist", "vendor", "pg.js");

function loadPg(): typeof PgModule {
    const response = Object.getOwnPropertyDescriptor(globalThis, "Response");
    const probes = response !== undefined && !("navigator" in globalThis);
    if (probes) {
        Object.defineProperty(globalThis, "Response", { value: undefined, configurable: true, writable: true });
    }
    try {
        // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded between the two property swaps
        return (existsSync(BUNDLED) ? requireCompiled(BUNDLED) : require("pg")) as typeof PgModule;
    } finally {
        if (probes) {
            Object.defineProperty(globalThis, "Response", response);
        }
    }
}

export const { Client, escapeLiteral } = loadPg();
