// The stack's config, read once from Pulumi and validated before any resource is registered.
import * as pulumi from "@pulumi/pulumi";
import * as runtimeConfig from "@pulumi/pulumi/runtime/config";
import { NAMESPACE, parseConfig, type RawConfig, type StackConfig } from "../engine/config/config";

/** The keys that hold a password: set without --secret, Pulumi keeps them in plaintext in Pulumi.<stack>.yaml. */
const SECRET_KEYS = ["password", "databaseUrl"];

// Pulumi's own test for a secret config key (what Config.get warns with): in the SDK's JavaScript, not its typings.
const isConfigSecret = (runtimeConfig as { isConfigSecret?: (key: string) => boolean }).isConfigSecret;

/** Every `memory-stack:*` value of the stack's config, validated (engine/config/config.ts). */
export function readConfig(): StackConfig {
    const raw: RawConfig = {};
    // allConfig holds secrets decrypted; they only travel into the Output secrets the components build.
    for (const [fullKey, value] of Object.entries(pulumi.runtime.allConfig())) {
        if (fullKey.startsWith(`${NAMESPACE}:`)) {
            raw[fullKey.slice(NAMESPACE.length + 1)] = value;
        }
    }
    for (const key of SECRET_KEYS.filter((key) => raw[key] !== undefined && isConfigSecret?.(`${NAMESPACE}:${key}`) === false)) {
        pulumi.log.warn(
            `${NAMESPACE}:${key} is stored in plaintext in Pulumi.${pulumi.getStack()}.yaml (it was set without --secret): ` +
                `set it again with \`pulumi config set --secret ${NAMESPACE}:${key} …\`, and change the password if that file was shared`,
        );
    }
    return parseConfig(raw);
}
