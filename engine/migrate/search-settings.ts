// The stack's defaults for pgvector's search settings (config vectorEfSearch, vectorProbes), set on
// the database so every new session starts with them, and match_goals/match_beliefs called without
// `candidates` use them. Not a migration: a migration's text cannot change once applied, these may.
//
// `alter database … set` needs the database's owner (or a superuser), and pgvector loaded in the
// session, so PostgreSQL knows the setting and lets its owner set it. Each one set is recorded in
// memory_stack.search_settings: a key removed from the config resets it, and rollback.sql resets
// what is recorded. A setting the stack never set is never touched; setting a key takes it over. Sessions already open keep their value until they end
// (PgBouncer's server connections: server_lifetime).
import { withTransaction, type SqlClient } from "../db/client";
import { describeError } from "../db/errors";
import { SEARCH_SETTINGS_TABLE } from "./ledger";
import { quoteIdentifier } from "./render";

export interface SearchSettings {
    /** hnsw.ef_search for the database, 1..1000; undefined: pgvector's default (40), or the DBA's. */
    hnswEfSearch?: number;
    /** ivfflat.probes for the database, 1..32768; undefined: pgvector's default (1), or the DBA's. */
    ivfflatProbes?: number;
}

const PARAMETERS = { hnswEfSearch: "hnsw.ef_search", ivfflatProbes: "ivfflat.probes" } as const;
const CONFIG_KEYS = { hnswEfSearch: "vectorEfSearch", ivfflatProbes: "vectorProbes" } as const;

export class SearchSettingsError extends Error {
    constructor(message: string, options?: ErrorOptions) {
        super(message, options);
        this.name = "SearchSettingsError";
    }
}

/** Sets the given settings on the current database and resets the ones the stack set before and no longer gives. */
export async function applySearchSettings(client: SqlClient, settings: SearchSettings): Promise<void> {
    const owned = new Set(await recordedSettings(client));
    const keys = Object.keys(PARAMETERS) as (keyof SearchSettings)[];
    const changes = keys.filter((key) => settings[key] !== undefined || owned.has(PARAMETERS[key]));
    if (changes.length === 0) {
        return;
    }
    const database = (await client.query<{ name: string }>("select current_database() as name")).rows[0].name;
    await withTransaction(client, async () => {
        await loadPgvector(client);
        await client.query(`create table if not exists ${SEARCH_SETTINGS_TABLE} (name text primary key)`);
        for (const key of changes) {
            const value = settings[key];
            const parameter = PARAMETERS[key];
            if (value !== undefined && !Number.isInteger(value)) {
                throw new SearchSettingsError(`${CONFIG_KEYS[key]} ${JSON.stringify(value)} must be an integer`);
            }
            const statement =
                value === undefined
                    ? `alter database ${quoteIdentifier(database)} reset ${parameter}`
                    : `alter database ${quoteIdentifier(database)} set ${parameter} = ${value}`;
            await client.query(statement).catch((error: unknown) => {
                throw new SearchSettingsError(
                    `${CONFIG_KEYS[key]}: cannot ${value === undefined ? "reset" : "set"} ${parameter} on database ${database}: ${describeError(error)}. ` +
                        "Connect as the database's owner, or leave the key out and pass candidates to match_goals/match_beliefs per call.",
                    { cause: error },
                );
            });
            await client.query(
                value === undefined
                    ? `delete from ${SEARCH_SETTINGS_TABLE} where name = $1`
                    : `insert into ${SEARCH_SETTINGS_TABLE} (name) values ($1) on conflict do nothing`,
                [parameter],
            );
        }
    });
}

async function recordedSettings(client: SqlClient): Promise<string[]> {
    const { rows } = await client.query<{ found: boolean }>(`select to_regclass('${SEARCH_SETTINGS_TABLE}') is not null as found`);
    if (!rows[0].found) {
        return [];
    }
    return (await client.query<{ name: string }>(`select name from ${SEARCH_SETTINGS_TABLE}`)).rows.map((row) => row.name);
}

// A vector value loads pgvector's library, which defines its settings. Named in pgvector's own schema: the
// engine's statements resolve in pg_catalog alone (snapshot.ts).
const LOAD_PGVECTOR = `do $$
declare
    schema name := (select n.nspname from pg_extension e join pg_namespace n on n.oid = e.extnamespace where e.extname = 'vector');
begin
    if schema is null then
        raise exception 'type "vector" does not exist' using errcode = '42704';
    end if;
    execute format('select %L::%I.vector', '[1]', schema);
end
$$`;

async function loadPgvector(client: SqlClient): Promise<void> {
    await client.query(LOAD_PGVECTOR).catch((error: unknown) => {
        throw new SearchSettingsError(
            `vectorEfSearch and vectorProbes are pgvector settings, but pgvector is not usable here: ${describeError(error)}. ` +
                "They apply to the vector variant only.",
            { cause: error },
        );
    });
}
