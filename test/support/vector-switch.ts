// The jsonb → vector switch on PGlite + pgvector, for the tests that prove its vector-specific steps:
// the program for a variant, one server with one session, and what to compare before and after.
// PGlite serves one session at a time: a test connects one client per server.
import { uncompared } from "./switch-data";
import { Client } from "pg";
import { applyMigrations, describeVariant } from "../../engine/migrate/index";
import { loadMigrationSources, renderMigrations, type SchemaOptions } from "../../engine/migrate/render";
import type { StepEvent } from "../../engine/migrate/step-runner";
import { DEFAULT_OPTIONS } from "./apply-sql";
import { startPgliteServer, type PgliteServer } from "./pglite-server";

export const jsonb: SchemaOptions = DEFAULT_OPTIONS;
export const vector: SchemaOptions = { ...jsonb, vector: true };
export const USER = "00000000-0000-4000-8000-000000000001";

export const program = (options: SchemaOptions) => renderMigrations(loadMigrationSources(), options);

export const apply = (client: Client, options: SchemaOptions, onEvent?: (event: StepEvent) => void) =>
    applyMigrations(client, program(options), { variant: describeVariant(options), steps: { onEvent } });

export async function start(): Promise<{ server: PgliteServer; client: Client }> {
    const server = await startPgliteServer();
    const client = new Client(server);
    await client.connect();
    return { server, client };
}

/** postgresql:// URL of the PGlite server, for the CLI. */
export function urlOf(server: PgliteServer): string {
    return `postgresql://${server.user}:${server.password}@${server.host}:${server.port}/${server.database}`;
}

// Every column but the embedding, plus the embedding as numbers: equal before and after the switch.
export async function rows(client: Client, table: string, column: string): Promise<unknown[]> {
    const numbers =
        (await columnType(client, table, column)) === "jsonb"
            ? `case when ${column} is null then null else array(select jsonb_array_elements_text(${column})::real) end`
            : `${column}::real[]`;
    const result = await client.query(
        `select id, (to_jsonb(t) - ${uncompared(column)})::text as other, ${numbers} as numbers from ${table} t order by id`,
    );
    return result.rows;
}

export async function columnType(client: Client, table: string, column: string): Promise<string | undefined> {
    const result = await client.query(
        "select format_type(atttypid, atttypmod) as t from pg_attribute where attrelid = $1::regclass and attname = $2 and not attisdropped",
        [table, column],
    );
    return result.rows[0]?.t;
}

/** What only a switch under way has: the vector extension, twin columns, sync triggers, helper functions. */
export async function switchTraces(client: Client) {
    const result = await client.query(`select
        (select count(*)::int from pg_extension where extname = 'vector') as extension,
        (select count(*)::int from pg_attribute join pg_class c on c.oid = attrelid
          where c.relkind = 'r' and attname like '%vector_new' and not attisdropped) as twins,
        (select count(*)::int from pg_trigger where tgname = 'vector_switch_sync') as triggers,
        (select count(*)::int from pg_proc where proname like 'vector_switch%') as helpers,
        (select count(*)::int from pg_proc where proname = 'match_goals') as match_goals`);
    return result.rows[0];
}
