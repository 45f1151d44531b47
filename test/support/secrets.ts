// How the Pulumi SDK marks a secret inside property values (runtime/rpc.ts): the shape the mock
// engine receives, and what state stores encrypted.
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

/** True when `value` (a raw mock input) is itself wrapped as a secret. */
export function isWrappedSecret(value: unknown): boolean {
    return value !== null && typeof value === "object" && (value as Record<string, unknown>)[SIG_KEY] === SECRET_SIG;
}

/** The value with every secret wrapper replaced by its plain value, as the engine sends it to a host that does not accept secrets. */
export function withoutSecretWrappers(value: unknown): unknown {
    if (Array.isArray(value)) {
        return value.map(withoutSecretWrappers);
    }
    if (value && typeof value === "object") {
        const record = value as Record<string, unknown>;
        if (isWrappedSecret(record)) {
            return withoutSecretWrappers(record.value);
        }
        return Object.fromEntries(Object.entries(record).map(([key, inner]) => [key, withoutSecretWrappers(inner)]));
    }
    return value;
}

/** Top-level property names whose value is (or holds) a secret. */
export function secretPaths(properties: Record<string, unknown>): string[] {
    return Object.keys(properties).filter((key) => JSON.stringify(properties[key] ?? null).includes(SECRET_SIG));
}
