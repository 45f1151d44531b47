// The stack's config, read once from Pulumi and validated before any resource is registered.
import * as pulumi from "@pulumi/pulumi";
import { NAMESPACE, parseConfig, type RawConfig, type StackConfig } from "../engine/config/config";

/** Every `memory-stack:*` value of the stack's config, validated (engine/config/config.ts). */
export function readConfig(): StackConfig {
    const raw: RawConfig = {};
    // allConfig holds secrets decrypted; they only travel into the Output secrets the components build.
    for (const [fullKey, value] of Object.entries(pulumi.runtime.allConfig())) {
        if (fullKey.startsWith(`${NAMESPACE}:`)) {
            raw[fullKey.slice(NAMESPACE.length + 1)] = value;
        }
    }
    return parseConfig(raw);
}
