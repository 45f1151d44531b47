// Reads a Pulumi.<stack>.yaml the way the Pulumi CLI hands it to the program: `memory-stack:*`
// keys, objects as JSON text, everything else as strings.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { load } from "js-yaml";
import { NAMESPACE, type RawConfig } from "../../engine/config/config";

export const REPO = join(__dirname, "..", "..");

export function stackConfig(stack: string, secrets: RawConfig = {}): RawConfig {
    const file = load(readFileSync(join(REPO, `Pulumi.${stack}.yaml`), "utf8")) as { config?: Record<string, unknown> };
    const raw: RawConfig = {};
    for (const [fullKey, value] of Object.entries(file.config ?? {})) {
        if (!fullKey.startsWith(`${NAMESPACE}:`)) {
            throw new Error(`Pulumi.${stack}.yaml: ${fullKey} is outside the ${NAMESPACE} namespace`);
        }
        raw[fullKey.slice(NAMESPACE.length + 1)] = typeof value === "object" ? JSON.stringify(value) : String(value);
    }
    return { ...raw, ...secrets };
}
