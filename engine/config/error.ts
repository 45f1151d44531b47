// The one error bad config throws: the key, the value (never a secret's) and what is allowed.
import { redact } from "../db/redact";

export const NAMESPACE = "memory-stack";

/** Raw values as Pulumi config holds them: strings, keyed without the namespace. */
export type RawConfig = Record<string, string | undefined>;

export class ConfigError extends Error {
    constructor(
        readonly key: string,
        readonly value: unknown,
        readonly allowed: string,
    ) {
        // A value is the user's own input, but it may hold a URL with credentials in it: never echo those.
        super(redact(`${NAMESPACE}:${key} is ${JSON.stringify(value)}; ${allowed}.`));
        this.name = "ConfigError";
    }
}
