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
        } else {
            refuseMisspeltNamespace(fullKey);
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

/**
 * Pulumi keeps a key under any namespace (`memory_stack:hostPort` in Pulumi.<stack>.yaml) and the program would never
 * read it: the stack would deploy with the default. One within two edits of the project's namespace is a typo. Its value is not shown.
 */
function refuseMisspeltNamespace(fullKey: string): void {
    const colon = fullKey.indexOf(":");
    const namespace = fullKey.slice(0, colon);
    if (colon < 0 || namespace === NAMESPACE || editDistance(namespace.toLowerCase(), NAMESPACE) > 2) {
        return;
    }
    const key = fullKey.slice(colon + 1);
    throw new Error(
        `${fullKey} is never read: this project's config keys are ${NAMESPACE}:<key>. Run \`pulumi config rm ${fullKey}\`, ` +
            `then \`pulumi config set ${NAMESPACE}:${key} …\` (with --secret for a password, --path for a field of an object)`,
    );
}

function editDistance(a: string, b: string): number {
    let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
        const current = [i];
        for (let j = 1; j <= b.length; j++) {
            current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
        }
        previous = current;
    }
    return previous[b.length];
}
