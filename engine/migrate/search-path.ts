// The search_path every migration and the rollback run with, set by the engine for each transaction
// rather than taken from the database or the role (`alter database … set search_path = app, public`
// would put uuid-ossp's functions into the application's schema `app`, and have the migrations' `set
// search_path from current` functions look there first). public comes first: unqualified objects and
// an extension the schema installs go there. Then the schema of an installed uuid-ossp or vector,
// wherever it is, so the shipped files' unqualified uuid_generate_v4() and vector(N) resolve to it. pg_temp
// last: unnamed, a session's temp schema is searched first for types and tables, and the `from current`
// functions a security definer trigger calls (0015's vector_switch_value) run in the application's sessions.
/** The extensions whose objects the migration files name without a schema. */
export const PATH_EXTENSIONS: readonly string[] = ["uuid-ossp", "vector"];

/**
 * SQL: the engine's search_path, e.g. `public, extensions, pg_temp`. Every name in it is pg_catalog's, written out: it is
 * evaluated under whatever search_path the session has then, and a migration file may have left one that puts
 * public before pg_catalog, where a role that may create in public can plant a quote_ident(text) of its own.
 */
export const SEARCH_PATH = `(select pg_catalog.concat(pg_catalog.string_agg(pg_catalog.quote_ident(s.name), ', ' order by s.rank, s.name), ', pg_temp') from (
        select 'public'::pg_catalog.text as name, 0 as rank
        union
        select n.nspname::pg_catalog.text, 1 from pg_catalog.pg_extension e join pg_catalog.pg_namespace n on n.oid operator(pg_catalog.=) e.extnamespace
         where e.extname operator(pg_catalog.=) any ('{${PATH_EXTENSIONS.join(",")}}'::pg_catalog.name[])) s)`;

/** Statements for the start of a transaction: its search_path (SET LOCAL). */
export const SET_LOCAL_SEARCH_PATH = `select pg_catalog.set_config('search_path', ${SEARCH_PATH}, true)`;
