// The settings a step changes: for one of its transactions (the socket check that frees the migration lock when the
// applying process dies), or for the session and given back (an index build's memory, outside any transaction).
// step-runner.ts decides what runs.
import type { SqlClient } from "../db/client";

/**
 * SQL for the begin of each step's transaction: a killed apply leaves its backend running the statement it sent; checking
 * the socket every second ends it (and frees the migration lock) soon after, instead of when the statement is done. For
 * the transaction alone, so there is nothing to give back. A platform that cannot check sockets refuses the value: left
 * as it was there, as the check is an improvement, not a requirement.
 */
export const CHECK_CLIENT_IN_TRANSACTION = `do $check$ begin
    set local client_connection_check_interval = 1000;
exception when invalid_parameter_value then
    null;
end $check$`;

/** The same for the session, with withSessionSettings: for statements that run outside a transaction. */
export const CHECK_CLIENT = { client_connection_check_interval: "1000" };

/**
 * Sets session settings for `work` and restores them afterwards. `undefined` only saves and restores
 * (work changes it). A value the server refuses as invalid (client_connection_check_interval on a
 * platform that cannot check sockets) leaves the setting as it was: each is an improvement, not a
 * requirement. When work fails, restoring is best-effort: the caller must see work's error.
 */
export async function withSessionSettings<T>(
    client: SqlClient,
    settings: Record<string, string | undefined>,
    work: () => Promise<T>,
): Promise<T> {
    const known = await saveAndSet(client, settings);
    let failed = false;
    try {
        return await work();
    } catch (error) {
        failed = true;
        throw error;
    } finally {
        await setAll(client, known).catch((error: unknown) => {
            if (!failed) throw error;
        });
    }
}

/**
 * The settings' values as they are (those the server knows), and `settings` set, in one round trip. A value
 * refused there changes nothing (the statement's implicit transaction rolls back): they are set one by one then.
 */
async function saveAndSet(client: SqlClient, settings: Record<string, string | undefined>): Promise<{ name: string; value: string }[]> {
    const names = Object.keys(settings);
    const wanted = names.map((name) => settings[name] ?? null);
    try {
        // saved: each value read before the outer select sets it.
        const saved = await client.query<{ name: string; value: string | null }>(
            `with saved as materialized (
                select s.name, s.wanted, pg_catalog.current_setting(s.name, true) as value
                  from rows from (pg_catalog.unnest($1::text[]), pg_catalog.unnest($2::text[])) as s(name, wanted))
             select name, value, case when value is not null and wanted is not null then pg_catalog.set_config(name, wanted, false) end as set
               from saved`,
            [names, wanted],
        );
        return known(saved.rows);
    } catch (error) {
        if ((error as { code?: string }).code !== "22023") throw error;
    }
    const saved = await client.query<{ name: string; value: string | null }>(
        "select name, pg_catalog.current_setting(name, true) as value from pg_catalog.unnest($1::text[]) as name",
        [names],
    );
    // One value refused: set them one by one, leaving the refused ones as they were.
    for (const { name } of known(saved.rows).filter(({ name }) => settings[name] !== undefined)) {
        await setAll(client, [{ name, value: settings[name]! }]).catch((error: unknown) => {
            if ((error as { code?: string }).code !== "22023") throw error;
        });
    }
    return known(saved.rows);
}

function known(rows: { name: string; value: string | null }[]): { name: string; value: string }[] {
    return rows.filter((row): row is { name: string; value: string } => row.value !== null);
}

/** Session settings, all in one statement. */
async function setAll(client: SqlClient, settings: { name: string; value: string }[]): Promise<void> {
    if (settings.length > 0) {
        await client.query(
            "select pg_catalog.set_config(s.name, s.value, false) from rows from (pg_catalog.unnest($1::text[]), pg_catalog.unnest($2::text[])) as s(name, value)",
            [settings.map((setting) => setting.name), settings.map((setting) => setting.value)],
        );
    }
}
