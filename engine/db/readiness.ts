// The readiness barrier: returns once a real connection as the configured user to the configured
// database answers `select 1`. The postgres image restarts once during first init, so a server that
// accepted one connection may refuse the next: only a full round trip counts, retried with backoff.
import { NoPasswordError, withClient } from "./client";
import { describeError } from "./errors";
import { describeTarget, type ConnectionSettings } from "./url";

export interface ReadinessOptions {
    /** Give up after this long. Default: 120 s. */
    timeoutMs?: number;
    /** First wait between attempts; doubles up to 2 s. Default: 100 ms. */
    initialDelayMs?: number;
    /** Called after each failed attempt, for progress lines. */
    onWait?: (attempt: number, lastError: string) => void;
}

// Errors that will not go away by waiting: bad password, unknown role or database, no permission.
const PERMANENT_SQLSTATES = new Set(["28P01", "28000", "3D000", "42501"]);

export class DatabaseNotReadyError extends Error {
    constructor(
        readonly target: string,
        readonly attempts: number,
        readonly lastError: string,
        readonly permanent: boolean,
    ) {
        super(
            permanent
                ? `cannot connect to ${target}: ${lastError}. Waiting will not help: check the user, password and database.`
                : `${target} did not answer "select 1" after ${attempts} attempts; last error: ${lastError}`,
        );
        this.name = "DatabaseNotReadyError";
    }
}

export async function waitForDatabase(settings: ConnectionSettings, options: ReadinessOptions = {}): Promise<void> {
    const timeoutMs = options.timeoutMs ?? 120_000;
    const deadline = Date.now() + timeoutMs;
    const target = describeTarget(settings);
    let delay = options.initialDelayMs ?? 100;
    for (let attempt = 1; ; attempt++) {
        let lastError: string;
        let code: string | undefined;
        let permanent: boolean;
        try {
            await withClient(
                attemptBounded(settings, deadline),
                { applicationName: "memory-stack-readiness", connectTimeoutMs: Math.min(5_000, timeoutMs) },
                (client) => client.query("select 1"),
            );
            return;
        } catch (error) {
            code = (error as { code?: string }).code;
            permanent = error instanceof NoPasswordError;
            lastError = describeError(error);
        }
        if (permanent || (code !== undefined && PERMANENT_SQLSTATES.has(code))) {
            throw new DatabaseNotReadyError(target, attempt, lastError, true);
        }
        if (Date.now() + delay > deadline) {
            throw new DatabaseNotReadyError(target, attempt, lastError, false);
        }
        options.onWait?.(attempt, lastError);
        await new Promise((resolve) => setTimeout(resolve, delay));
        delay = Math.min(delay * 2, 2_000);
    }
}

/**
 * The settings for one attempt: a connect_timeout of the URL's (which connect() takes over the barrier's 5 s) bounded by
 * the time left, so that an attempt never outlasts the barrier's timeout (0, libpq's "wait indefinitely", included).
 */
function attemptBounded(settings: ConnectionSettings, deadline: number): ConnectionSettings {
    if (settings.connectTimeoutSeconds === undefined) {
        return settings;
    }
    const leftSeconds = Math.max(1, deadline - Date.now()) / 1000;
    const asked = settings.connectTimeoutSeconds;
    return { ...settings, connectTimeoutSeconds: asked > 0 ? Math.min(asked, leftSeconds) : leftSeconds };
}
