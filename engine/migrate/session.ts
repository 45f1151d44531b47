// One engine run (an apply, a rollback, a repair) on one migrating connection, with what it needs
// around it: the lock settings, where progress lines go, and a way to open other sessions — a
// watcher that names whoever blocks the migration, and a fresh connection to read the truth after
// the migrating one was lost. Other sessions are opened only when needed and closed at the end.
import type { EventEmitter } from "node:events";
import type { SqlClient } from "../db/client";
import { CATALOG_PATH } from "./snapshot";

/** A connection the engine may close. */
export type Connection = SqlClient & { end(): Promise<void> };

export interface LockSettings {
    /** lock_timeout of every migration and rollback statement, in ms: an application query waits at most this long behind one. */
    timeoutMs: number;
    /** How long to keep retrying (with backoff) before failing cleanly, in seconds; also bounds the wait for the migration lock. */
    deadlineSeconds: number;
}

export interface LockWaits {
    /** How long the run waited for the migration lock (another apply or rollback held it). */
    migrationLockMs: number;
    /** Transactions rolled back after lock_timeout and retried. */
    retries: number;
}

/** "" when the run never waited; else, for a duration that includes them, " (lock waits included: 3 retries after lock_timeout)". */
export function describeWaits(waits: LockWaits): string {
    const parts = [
        ...(waits.migrationLockMs > 0 ? [`${seconds(waits.migrationLockMs)} for the migration lock`] : []),
        ...(waits.retries > 0 ? [`${waits.retries} retr${waits.retries === 1 ? "y" : "ies"} after lock_timeout`] : []),
    ];
    return parts.length === 0 ? "" : ` (lock waits included: ${parts.join(", ")})`;
}

export const DEFAULT_LOCK_SETTINGS: LockSettings = { timeoutMs: 500, deadlineSeconds: 300 };

export interface SessionOptions {
    /** Default: DEFAULT_LOCK_SETTINGS. */
    locks?: Partial<LockSettings>;
    /** Receives one line per lock wait (who blocks, for how long). Default: none. */
    onWait?: (line: string) => void;
    /** Opens a new connection to the same database (never through a transaction-mode pooler). Without it, lock waits cannot name the blocker and a connection lost at COMMIT is reported as unknown. */
    connect?: () => Promise<Connection>;
}

export class MigrationSession {
    readonly locks: LockSettings;
    /** The migrating connection's backend pid, once the migration lock is held. */
    pid: number | undefined;
    /** How the run waited for locks so far (bounded.ts, lock.ts). */
    readonly waits: LockWaits = { migrationLockMs: 0, retries: 0 };
    /** Set while the run holds the migration lock, whose release flushes the WAL (lock.ts): commits need not wait for it (bounded.ts). */
    flushAtUnlock = false;
    /** A transaction committed without waiting for its WAL flush. */
    unflushed = false;
    private watcher: Promise<Connection | undefined> | undefined;

    constructor(
        readonly client: SqlClient,
        private readonly options: SessionOptions = {},
    ) {
        this.locks = { ...DEFAULT_LOCK_SETTINGS, ...stripUndefined(options.locks ?? {}) };
    }

    get connect(): (() => Promise<Connection>) | undefined {
        return this.options.connect;
    }

    /** observer() for appeared.ts's check, when this session has a way to open a second one; undefined otherwise. */
    get checker(): ((failed?: SqlClient) => Promise<SqlClient | undefined>) | undefined {
        return this.options.connect ? (failed) => this.observer(failed) : undefined;
    }

    report(line: string): void {
        this.options.onWait?.(line);
    }

    /**
     * The watcher connection, opened on first use; undefined when it cannot be opened (then it is not tried again).
     * One the server or the network ended meanwhile (idle_session_timeout, a terminated backend) is opened again, and
     * so is `failed`, a watcher a query just failed on: its end may not have been noticed yet.
     */
    async observer(failed?: SqlClient): Promise<SqlClient | undefined> {
        const connect = this.options.connect;
        if (!connect) {
            return undefined;
        }
        if (failed !== undefined && (await this.watcher) === failed) {
            this.watcher = undefined;
            void (failed as Connection).end().catch(() => undefined);
        }
        if (this.watcher === undefined) {
            const opened: Promise<Connection | undefined> = connect().then(
                async (watcher) => {
                    // It runs the engine's own reads only: PostgreSQL's names, none a role could plant elsewhere (snapshot.ts).
                    await watcher.query(`set search_path = ${CATALOG_PATH}`);
                    (watcher as Partial<Pick<EventEmitter, "once">>).once?.("end", () => {
                        if (this.watcher === opened) {
                            this.watcher = undefined;
                        }
                    });
                    return watcher;
                },
                () => undefined,
            );
            this.watcher = opened;
        }
        return this.watcher;
    }

    async close(): Promise<void> {
        const watcher = await this.watcher;
        this.watcher = undefined;
        await watcher?.end().catch(() => undefined);
    }
}

function stripUndefined<T extends object>(value: T): Partial<T> {
    return Object.fromEntries(Object.entries(value).filter(([, item]) => item !== undefined)) as Partial<T>;
}

export function seconds(ms: number): string {
    return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
}
