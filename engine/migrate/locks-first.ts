// A migration that holds one table's lock while it waits for another's closes a cycle with an agent that
// holds the second and then queues for the first behind it (0013 takes goal_assessments, then belief_graphs;
// an agent writes a belief, then its goal). The migration's lock_timeout ends its wait first and it is
// retried, but every retry takes the tables in the same order, so under steady load it kept losing the same
// race, backing off for tens of seconds. So a retry first takes, holding nothing yet, the locks its earlier
// attempts waited for: the agents that hold that table finish, as the other one is still free for them, and
// the migration then finds it held by nobody but itself.

/** pg_locks.mode of a table lock the migration waited for, strongest last. */
const MODES = [
    "AccessShareLock",
    "RowShareLock",
    "RowExclusiveLock",
    "ShareUpdateExclusiveLock",
    "ShareLock",
    "ShareRowExclusiveLock",
    "ExclusiveLock",
    "AccessExclusiveLock",
] as const;
type Mode = (typeof MODES)[number];

/**
 * A table the transaction waited for, by oid (pg_locks.relation), and the lock mode it asked for. Its name never goes
 * into the SQL text: a name may hold the statement's own quoting, and may name another table by the next attempt.
 */
export interface TableWait {
    oid: number;
    mode: string;
    /** How long after its transaction began the wait began (pg_locks.waitstart). */
    startedAfterMs: number;
}

/** The locks a transaction's next attempt takes first, learned from the waits of its earlier attempts. */
export class LocksFirst {
    private modes = new Map<number, Mode>();

    /**
     * `withinMs`: a wait that began later into its transaction is not learned. Taken first, its lock would be held that much
     * longer than the migration's statements hold it: a quick change of a table after long work (a backfill, an index build)
     * would keep every agent off that table, reads too, through the whole work. Such a retry goes as before.
     */
    constructor(private readonly withinMs: number) {}

    learn(wait: TableWait | undefined): void {
        if (
            wait === undefined ||
            !Number.isSafeInteger(wait.oid) ||
            !(MODES as readonly string[]).includes(wait.mode) ||
            !(wait.startedAfterMs <= this.withinMs)
        ) {
            return;
        }
        const mode = wait.mode as Mode;
        const held = this.modes.get(wait.oid);
        // The latest wait first: the order the last attempt took them in is the one that failed.
        const rest = [...this.modes].filter(([oid]) => oid !== wait.oid);
        this.modes = new Map([[wait.oid, held === undefined ? mode : covering(held, mode)], ...rest]);
    }

    /**
     * SQL that takes them, under the transaction's lock_timeout; "" when there is none. ONLY: the table waited for, not its
     * partitions or inheritance children, which the migration may never touch and an unrelated transaction may hold. A table
     * dropped or made unlockable for the deployer since is skipped rather than failing the migration: its own statements say
     * what is wrong. Every name is pg_catalog's, written out: a migration file may have put public before pg_catalog.
     */
    statement(): string {
        return [...this.modes]
            .map(
                ([oid, mode]) =>
                    "do $memory_stack$ declare t pg_catalog.text; begin " +
                    "select pg_catalog.format('%I.%I', n.nspname, c.relname) into t from pg_catalog.pg_class c " +
                    "join pg_catalog.pg_namespace n on n.oid operator(pg_catalog.=) c.relnamespace " +
                    `where c.oid operator(pg_catalog.=) ${oid}::pg_catalog.oid; ` +
                    `if t is not null then execute pg_catalog.format('lock table only %s in ${sqlMode(mode)} mode', t); end if; ` +
                    "exception when undefined_table or wrong_object_type or insufficient_privilege then null; end $memory_stack$",
            )
            .join("; ");
    }
}

/** The weakest mode that conflicts with everything either does: the stronger, but SHARE ROW EXCLUSIVE for SHARE and SHARE UPDATE EXCLUSIVE (neither covers the other). */
function covering(a: Mode, b: Mode): Mode {
    const pair = new Set([a, b]);
    if (pair.has("ShareLock") && pair.has("ShareUpdateExclusiveLock")) {
        return "ShareRowExclusiveLock";
    }
    return MODES[Math.max(MODES.indexOf(a), MODES.indexOf(b))];
}

/** "AccessExclusiveLock" → "access exclusive", as LOCK TABLE spells it. */
function sqlMode(mode: Mode): string {
    return mode
        .replace(/Lock$/, "")
        .replace(/(?<=[a-z])(?=[A-Z])/g, " ")
        .toLowerCase();
}
