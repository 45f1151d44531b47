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
        "select name, pg_catalog.current_setting(name, true) as value from pg_catalog.unnest($1::text[]) as name",
        [Object.keys(settings)],
    );
    const known = saved.rows.filter((row) => row.value !== null);
    const changes = known.filter(({ name }) => settings[name] !== undefined).map(({ name }) => ({ name, value: settings[name]! }));
    await setAll(client, changes).catch(async () => {
        // One value refused: set them one by one, leaving the refused ones as they were.
        for (const change of changes) {
            await setAll(client, [change]).catch((error: unknown) => {
                if ((error as { code?: string }).code !== "22023") throw error;
            });
        }
    });
    let failed = false;
    try {
        return await work();
    } catch (error) {
        failed = true;
        throw error;
    } finally {
        await setAll(client, known as { name: string; value: string }[]).catch((error: unknown) => {
            if (!failed) throw error;
        });
    }
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
