// The session settings a step changes and gives back (an index build's memory, the socket check that
// frees the migration lock when the applying process dies). step-runner.ts decides what runs.
import type { SqlClient } from "../db/client";

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
    const saved = await client.query<{ name: string; value: string | null }>(
        "select name, current_setting(name, true) as value from unnest($1::text[]) as name",
        [Object.keys(settings)],
    );
    const known = saved.rows.filter((row) => row.value !== null);
    for (const { name } of known) {
        const value = settings[name];
        if (value !== undefined) {
            await client.query("select set_config($1, $2, false)", [name, value]).catch((error: unknown) => {
                if ((error as { code?: string }).code !== "22023") throw error;
            });
        }
    }
    let failed = false;
    try {
        return await work();
    } catch (error) {
        failed = true;
        throw error;
    } finally {
        for (const { name, value } of known) {
            await client.query("select set_config($1, $2, false)", [name, value]).catch((error: unknown) => {
                if (!failed) throw error;
            });
        }
    }
}
