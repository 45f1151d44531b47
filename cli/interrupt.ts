// Ctrl-C (SIGINT, or SIGTERM from a pipeline runner) during a command: closing the socket alone would leave
// the server running the statement under way (a backend notices a gone client only when it next writes), so
// the statement is cancelled from a second connection first; then the session ends, which rolls back its
// open transaction and frees the migration lock. What finished stays recorded; running the command again
// continues from there. A second signal quits at once.
import type { Client } from "pg";
import { connect } from "../engine/db/client";
import { FLUSH_WAL } from "../engine/migrate/flush";
import type { ConnectionSettings } from "../engine/db/url";

/** Exit code of a command stopped by a signal, as a shell reports it (128 + SIGINT). */
export const INTERRUPTED_EXIT_CODE = 130;

export interface Interrupt {
    /** Stops listening for the signals. */
    stop(): void;
    /** A signal came: the command is being stopped, and what it says was said already. */
    stopping(): boolean;
}

/**
 * Cancels `client`'s statement and exits when the process is interrupted. Under --json the stop is one document on
 * stdout too, as every other ending is; the statement's own failure, which the cancel causes, is then not reported.
 */
export function stopOnInterrupt(
    client: Client,
    settings: ConnectionSettings,
    command: string,
    out: { stdout(text: string): void; stderr(line: string): void },
    json: boolean,
): Interrupt {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals) => {
        if (stopping) {
            process.exit(INTERRUPTED_EXIT_CODE);
        }
        stopping = true;
        const error =
            `${signal}: stopping; the statement under way is cancelled and rolled back, ` +
            `what finished stays recorded; run \`memory-stack status\` to see where it stands, ${command} again to continue`;
        out.stderr(`memory-stack ${command}: ${error}`);
        if (json) {
            out.stdout(JSON.stringify({ ok: false, command, exitCode: INTERRUPTED_EXIT_CODE, error }, null, 2));
        }
        void cancel(client, settings).finally(() => process.exit(INTERRUPTED_EXIT_CODE));
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    return {
        stop: () => {
            process.off("SIGINT", onSignal);
            process.off("SIGTERM", onSignal);
        },
        stopping: () => stopping,
    };
}

async function cancel(client: Client, settings: ConnectionSettings): Promise<void> {
    const pid = (client as Client & { processID?: number }).processID;
    if (pid !== undefined) {
        await connect(settings, { applicationName: "memory-stack-cli-cancel", connectTimeoutMs: 5_000 })
            .then(async (canceller) => {
                await canceller.query("select pg_cancel_backend($1)", [pid]).catch(() => undefined);
                // The run's commits did not wait for the disk (bounded.ts) and its own flush at unlock will not come: this one makes what finished durable.
                await canceller.query(FLUSH_WAL).catch(() => undefined);
                await canceller.end();
            })
            .catch(() => undefined);
    }
    await client.end().catch(() => undefined);
}
