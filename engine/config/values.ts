// Readers for raw config values: each returns the typed value or throws a ConfigError that names
// the key, the value and what is allowed. A dotted key (pooling.mode) reads its last segment from
// the object it belongs to.

export const NAMESPACE = "memory-stack";

/** Raw values as Pulumi config holds them: strings, keyed without the namespace. */
export type RawConfig = Record<string, string | undefined>;

export class ConfigError extends Error {
    constructor(
        readonly key: string,
        readonly value: unknown,
        readonly allowed: string,
    ) {
        super(`${NAMESPACE}:${key} is ${JSON.stringify(value)}; ${allowed}.`);
        this.name = "ConfigError";
    }
}

type Source = Record<string, unknown>;

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

function field(key: string): string {
    return key.slice(key.lastIndexOf(".") + 1);
}

export function password(value: string | undefined): string | undefined {
    if (value !== undefined && value.length < 8) {
        throw new ConfigError("password", "[secret]", "must be at least 8 characters; or unset it and a random one is generated");
    }
    return value;
}

export function parseObject(raw: RawConfig, key: string, known: string[]): Record<string, unknown> {
    const text = raw[key];
    if (text === undefined) {
        return {};
    }
    let value: unknown;
    try {
        value = JSON.parse(text);
    } catch {
        throw new ConfigError(key, text, `must be an object with keys ${known.join(", ")}`);
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
        throw new ConfigError(key, value, `must be an object with keys ${known.join(", ")}`);
    }
    for (const inner of Object.keys(value)) {
        if (!known.includes(inner)) {
            throw new ConfigError(
                `${key}.${inner}`,
                (value as Record<string, unknown>)[inner],
                `unknown key; known keys: ${known.join(", ")}`,
            );
        }
    }
    return value as Record<string, unknown>;
}

export function identifier(raw: RawConfig, key: string, fallback: string): string {
    const value = raw[key] ?? fallback;
    if (!IDENTIFIER.test(value)) {
        throw new ConfigError(
            key,
            value,
            "must be a lowercase SQL identifier: a letter or _, then letters, digits or _, at most 63 characters",
        );
    }
    return value;
}

/** A JSON list of SQL identifiers, e.g. ["authenticator"]; empty when unset. */
export function identifierList(raw: RawConfig, key: string): string[] {
    const text = raw[key];
    if (text === undefined) {
        return [];
    }
    let value: unknown;
    try {
        value = JSON.parse(text);
    } catch {
        value = text;
    }
    if (!Array.isArray(value) || value.some((item) => typeof item !== "string" || !IDENTIFIER.test(item))) {
        throw new ConfigError(key, value, 'must be a list of lowercase SQL identifiers, for example ["authenticator"]');
    }
    return [...new Set(value as string[])];
}

export function nonEmpty(raw: RawConfig, key: string, fallback: string): string {
    const value = raw[key] ?? fallback;
    if (value.trim() === "") {
        throw new ConfigError(key, value, "must not be empty");
    }
    return value;
}

export function int(source: Source, key: string, fallback: number, min: number, max: number): number {
    const value = source[field(key)];
    if (value === undefined) {
        return fallback;
    }
    const number = typeof value === "number" ? value : typeof value === "string" && /^-?\d+$/.test(value.trim()) ? Number(value) : NaN;
    if (!Number.isInteger(number) || number < min || number > max) {
        throw new ConfigError(key, value, `must be an integer from ${min} to ${max}`);
    }
    return number;
}

export function bool(source: Source, key: string, fallback: boolean): boolean {
    const value = source[field(key)];
    if (value === undefined) {
        return fallback;
    }
    if (value === true || value === "true") {
        return true;
    }
    if (value === false || value === "false") {
        return false;
    }
    throw new ConfigError(key, value, "must be true or false");
}

export function oneOf<T extends string>(source: Source, key: string, allowed: readonly T[], fallback: T): T {
    const value = source[field(key)] ?? fallback;
    if (!allowed.includes(value as T)) {
        throw new ConfigError(key, value, `must be one of ${allowed.join(", ")}`);
    }
    return value as T;
}

export function text(source: Source, key: string, fallback: string): string {
    const value = source[field(key)] ?? fallback;
    if (typeof value !== "string" || value.trim() === "") {
        throw new ConfigError(key, value, "must be a non-empty string");
    }
    return value;
}
