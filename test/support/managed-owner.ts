// The owner role of a managed server (RDS, Cloud SQL, Azure, Supabase's postgres), deploying into `db`: a login with
// CREATEROLE that owns the database and is neither a superuser nor BYPASSRLS, so row level security applies to it
// under FORCE ROW LEVEL SECURITY. uuid-ossp is installed first, as on a managed server's allow-list.
import type { Client, ClientConfig } from "pg";
import type { ConnectionSettings } from "../../engine/db/url";
import { applyMigrations, migrationsFor } from "./apply-sql";
import { freshDatabase, type TestDatabase } from "./database";
import { grantStackPrivileges } from "./schema-db";
import { seedEmbeddings, type SeededUser } from "./switch-data";

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

/** releaseBeforeDerived with users' embeddings seeded, the stack's privileges granted, and the app role a login for agents. */
export async function releaseWithAgents(
    prefix: string,
    sizes: { users: number; goalsPerUser: number; beliefsPerUser: number; dimensions: number } = {
        users: 1,
        goalsPerUser: 3,
        beliefsPerUser: 3,
        dimensions: 4,
    },
): Promise<
    ReleaseBeforeDerived & {
        roles: string[];
        users: SeededUser[];
        /** The app role's connection settings, for an agent's own pool. */
        agentConfig: ClientConfig;
        agent(applicationName?: string): Promise<Client>;
    }
> {
    const release = await releaseBeforeDerived(prefix);
    const users = await seedEmbeddings(release.asOwner, sizes);
    await grantStackPrivileges(release.asOwner, release.options);
    await release.asOwner.query(`alter role ${release.options.appRole} login password '${AGENT_PASSWORD}'`);
    const agentConfig = { ...release.db.config, user: release.options.appRole, password: AGENT_PASSWORD };
    return {
        ...release,
        users,
        agentConfig,
        agent: (applicationName = "agent") =>
            release.db.connect({ user: release.options.appRole, password: AGENT_PASSWORD, application_name: applicationName }),
    };
}

const AGENT_PASSWORD = "agent-pw-123";
