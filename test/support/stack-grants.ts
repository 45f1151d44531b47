// The privilege list the stack grants (engine/render/privileges.ts), granted by hand: for tests and
// benchmarks that apply the schema without the provider and then verify it. No vitest import here, so
// the benchmarks can load it.
import type { Client } from "pg";
import type { SchemaOptions } from "../../engine/migrate/render";
import { renderGrants } from "../../engine/render/grants";
import { privilegeRules } from "../../engine/render/privileges";

export async function grantStackPrivileges(client: Client, options: Pick<SchemaOptions, "appRole" | "adminRole">): Promise<void> {
    const { rows } = await client.query<{ database: string }>("select current_database() as database");
    const target = { database: rows[0].database, roles: { app: options.appRole, admin: options.adminRole } };
    for (const statement of renderGrants(privilegeRules({ rolesCreated: true }), target)) {
        await client.query(statement);
    }
}
