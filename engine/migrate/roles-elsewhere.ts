// Roles are the server's, not one database's: a rollback keeps a stack role that another database (another
// memory-stack deployment on the same server, say) still grants to or holds objects for. Which databases those
// are is what the user needs to know, since nothing in this one depends on the role any more.
import type { SqlClient } from "../db/client";

/** The other databases of this server that hold privileges or objects of `roles`, or that they own, by name. */
export async function databasesUsingRoles(client: SqlClient, roles: string[]): Promise<string[]> {
    if (roles.length === 0) {
        return [];
    }
    const { rows } = await client.query<{ datname: string }>(
        `select distinct d.datname::text as datname
           from pg_catalog.pg_shdepend s
           join pg_catalog.pg_roles r on r.oid = s.refobjid
           join pg_catalog.pg_database d on d.oid = s.dbid
          where s.refclassid = 'pg_catalog.pg_authid'::pg_catalog.regclass and r.rolname = any($1::text[])
            and d.datname <> pg_catalog.current_database()
         union
         -- a database a role owns is a shared object's dependency (dbid 0): the database itself names it
         select d.datname::text from pg_catalog.pg_database d join pg_catalog.pg_roles r on r.oid = d.datdba
          where r.rolname = any($1::text[]) and d.datname <> pg_catalog.current_database()
          order by 1`,
        [roles],
    );
    return rows.map((row) => row.datname);
}
