// Where the package's own files are, whether this code runs from its TypeScript source (engine/…) or
// compiled (dist/engine/…), in this repository or installed in another project's node_modules.
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";

function packageRoot(from: string): string {
    for (let dir = from; ; dir = path.dirname(dir)) {
        const manifest = path.join(dir, "package.json");
        if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, "utf8")) as { name?: string }).name === "memory-stack") {
            return dir;
        }
        if (path.dirname(dir) === dir) {
            throw new Error(`no memory-stack package.json above ${from}`);
        }
    }
}

export const PACKAGE_ROOT: string = packageRoot(__dirname);
/** The migrations and rollback.sql. */
export const SQL_DIR: string = path.join(PACKAGE_ROOT, "sql");
