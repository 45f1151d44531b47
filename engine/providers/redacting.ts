// The providers' edge: an error a provider method throws reaches Pulumi (and the terminal, and CI logs)
// only through the redaction rule, with every password found in the method's arguments masked.
import { redact } from "../db/redact";

type Module = Record<string, unknown>;

/** `module` with each function's thrown errors redacted; other exports as they are. */
export function redactingErrors<M extends Module>(module: M): M {
    const wrapped: Module = {};
    for (const [name, value] of Object.entries(module)) {
        wrapped[name] = typeof value === "function" ? guard(value as (...args: unknown[]) => unknown) : value;
    }
    return wrapped as M;
}

function guard(method: (...args: unknown[]) => unknown): (...args: unknown[]) => unknown {
    return (...args) => {
        const fail = (error: unknown): never => {
            throw redacted(error, passwordsIn(args));
        };
        try {
            const result = method(...args);
            return result instanceof Promise ? result.catch(fail) : result;
        } catch (error) {
            return fail(error);
        }
    };
}

function redacted(error: unknown, secrets: string[]): Error {
    const original = error instanceof Error ? error : new Error(String(error));
    const safe = new Error(redact(original.message, secrets));
    safe.name = original.name;
    safe.stack = redact(original.stack ?? "", secrets);
    return safe;
}

/** Every string under a `password` key, however deep: a connection's password in inputs or saved state. */
function passwordsIn(value: unknown, depth = 0, found: string[] = []): string[] {
    if (value === null || typeof value !== "object" || depth > 6) {
        return found;
    }
    for (const [key, inner] of Object.entries(value)) {
        if (key === "password" && typeof inner === "string") {
            found.push(inner);
        } else {
            passwordsIn(inner, depth + 1, found);
        }
    }
    return found;
}
