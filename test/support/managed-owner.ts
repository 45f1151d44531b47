// The owner role of a managed server (RDS, Cloud SQL, Azure, Supabase's postgres), deploying into `db`: a login with
// CREATEROLE that owns the database and is neither a superuser nor BYPASSRLS, so row level security applies to it
// under FORCE ROW LEVEL SECURITY. uuid-ossp is installed first, as on a managed server's allow-list.
import type { Client } from "pg";
import type { ConnectionSettings } from "../../engine/db/url";
import { applyMigrations, migrationsFor } from "./apply-sql";
import { freshDatabase, type TestDatabase } from "./database";

export interface ManagedOwner {
    name: string;
    /** DATABASE_URL as the owner, for the CLI. */
    env: NodeJS.ProcessEnv;
    settings: ConnectionSettings;
    connect(): Promise<Client>;
}

const PASSWORD = "owner-pw-123";

/** Creates `<database>_owner` and gives it the database; the caller drops the role. */
export async function managedOwner(db: TestDatabase): Promise<ManagedOwner> {
    const name = `${db.name}_owner`;
    const admin = await db.connect();
    await admin.query(`create role ${name} login password '${PASSWORD}' createrole nosuperuser nobypassrls;
        alter database ${db.name} owner to ${name}; create extension if not exists "uuid-ossp"`);
    await admin.end();
    return {
        name,
        env: { DATABASE_URL: `postgresql://${name}:${PASSWORD}@${db.server.host}:${db.server.port}/${db.name}` },
        settings: { ...db.settings, user: name, password: PASSWORD },
        connect: () => db.connect({ user: name, password: PASSWORD }),
    };
}

/** The release before 0013 (no derived embedding columns yet), applied to a fresh database by its managed owner. */
export interface ReleaseBeforeDerived {
    db: TestDatabase;
    owner: ManagedOwner;
    options: { appRole: string; adminRole: string; vectorDimensions: number };
    /** The owner's connection. */
    asOwner: Client;
}

/** What an upgrade to 0013 and later starts from; the caller drops the database and `roles`. */
export async function releaseBeforeDerived(prefix: string): Promise<ReleaseBeforeDerived & { roles: string[] }> {
    const db = await freshDatabase(prefix);
    const owner = await managedOwner(db);
    const options = { appRole: `${db.name}_app`, adminRole: `${db.name}_admin`, vectorDimensions: 1536 };
    const asOwner = await owner.connect();
    await applyMigrations(
        asOwner,
        migrationsFor(options).filter((migration) => migration.name < "0013"),
        options,
    );
    return { db, owner, options, asOwner, roles: [options.appRole, options.adminRole, owner.name] };
}
