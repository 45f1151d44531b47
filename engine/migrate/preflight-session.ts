// What the database or the deploying role sets on every session (alter database … set, alter role … set, PGOPTIONS)
// that no migration can run under. session_replication_role = replica: no trigger fires and no foreign key is checked
// in the migrating session, so 0014's backfill derives nothing (it stopped with "is it disabled?") and the switch's sync
// trigger keeps no twin column; the schema's behaviour would depend on who wrote last. default_transaction_read_only (or
// a standby): every migration failed at its first statement with PostgreSQL's words only. Refused before any change,
// naming the setting and how to lift it for the deploy.
import type { Conflict } from "./preflight";
import { quoteIdentifier } from "./render";

export interface SessionRow {
    me: string;
    database: string;
    replication_role: string;
    read_only: string;
    standby: boolean;
}

/** SQL: the migrating session's settings that matter here. */
export const SESSION_READ = `select current_user as me, current_database() as database,
        current_setting('session_replication_role') as replication_role,
        current_setting('default_transaction_read_only') as read_only, pg_is_in_recovery() as standby`;

export function sessionConflicts(rows: SessionRow[]): Conflict[] {
    const [row] = rows;
    if (row === undefined) {
        return [];
    }
    const conflicts: Conflict[] = [];
    const lift = (setting: string, value: string) =>
        `Lift it for the deploy: run with PGOPTIONS='-c ${setting}=${value}' (the CLI; libpq's environment), or ` +
        `alter role ${quoteIdentifier(row.me)} in database ${quoteIdentifier(row.database)} set ${setting} = ${value} ` +
        `(or reset the database's: alter database ${quoteIdentifier(row.database)} reset ${setting})`;
    if (row.replication_role !== "origin") {
        conflicts.push({
            object: `session_replication_role = ${row.replication_role}`,
            problem:
                `the database or role ${row.me} sets it on every session, and in such a session no trigger fires and no foreign key is checked: ` +
                "the migrations' backfills would derive nothing and the switch to vector would keep no twin column",
            fix: lift("session_replication_role", "origin"),
        });
    }
    if (row.standby) {
        conflicts.push({
            object: `database ${row.database}`,
            problem: "is a standby (in recovery): it takes no writes",
            fix: "Connect to the primary",
        });
    } else if (row.read_only === "on") {
        conflicts.push({
            object: "default_transaction_read_only = on",
            problem: `the database or role ${row.me} sets it on every session, so every migration's transaction would be read-only`,
            fix: lift("default_transaction_read_only", "off"),
        });
    }
    return conflicts;
}
