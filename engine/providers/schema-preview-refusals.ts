// What the schema resource's diff refuses, from state: the changes an up could not complete, or would complete wrongly,
// after other resources had already changed. Diff runs at `pulumi preview` (and so before `pulumi up` takes any step),
// the one place the stack's state and the program's new inputs meet before anything changes. `pulumi up --skip-preview`
// takes each step as soon as its resource is registered, so the stack's deploy guard (./deploy-guard.ts), which every
// server-changing resource depends on, refuses the same changes in its own update, from what the server records.
import { imageLibc, type Libc } from "../config/image-libc";
import type { ConnectionSettings } from "../db/url";
import { resolveSchemaOptions } from "../migrate/index";
import type { SchemaOptions } from "../migrate/render";
import type { SchemaMigrationInputs, SchemaMigrationOutputs } from "./schema-migration";

/** What is deployed, as far as the refusals need it, and where that was read. */
export interface Deployed {
    /** "state": the schema resource's state at its last up; "server": the server itself (the deploy guard). */
    from: "state" | "server";
    appliedMigrations: string[];
    schema?: Partial<SchemaOptions>;
    database?: string;
    /** docker: the owner the data volume was initialised with. */
    owner?: string;
    /** docker, from the server: the databases the data volume holds. */
    databases?: string[];
    /** docker: the C library that built the data volume, and what says so. */
    libc?: { libc: Libc; builtBy: string };
}

/** The new inputs the refusals read. */
export type Requested = Pick<SchemaMigrationInputs, "schema" | "connection" | "serverImage">;

/** Throws, naming the config key, both values and what to do, for a change the deployed stack cannot take. */
export function refuseAtPreview(olds: Partial<SchemaMigrationOutputs>, news: SchemaMigrationInputs): void {
    const libc = olds.serverImage === undefined ? undefined : imageLibc(olds.serverImage);
    refuseUndeployable(
        {
            from: "state",
            appliedMigrations: olds.appliedMigrations ?? [],
            schema: olds.schema,
            database: olds.connection?.database,
            owner: olds.connection?.user,
            ...(libc === undefined ? {} : { libc: { libc, builtBy: olds.serverImage! } }),
        },
        news,
    );
}

/** The same refusals from what is deployed, wherever that was read. */
export function refuseUndeployable(deployed: Deployed, news: Requested): void {
    if (deployed.appliedMigrations.length === 0 && deployed.from === "state") {
        return; // nothing deployed (or rolled back outside Pulumi and refreshed): nothing to keep
    }
    if (deployed.appliedMigrations.length > 0) {
        refuseDeployedOptionChange(deployed, news);
        refuseMovedDatabase(deployed, news);
    }
    // The server's own facts hold whether or not the schema was ever applied.
    refuseOtherLibc(deployed, news);
    refuseNewDockerOwner(deployed, news);
    refuseAbsentDockerDatabase(deployed, news);
}

/**
 * At preview, from state: an option the deployed schema cannot take (a role renamed, rls or vector turned off) is refused
 * before any resource changes. Update would refuse it too, but only after the resources it depends on had changed:
 * the postgresql provider renames a live role in place (the application's logins fail), and vector off swaps the server
 * for an image without pgvector under vector(N) columns.
 */
function refuseDeployedOptionChange(deployed: Deployed, news: Requested): void {
    if (deployed.schema === undefined) {
        return;
    }
    resolveSchemaOptions({
        requested: news.schema,
        recorded: deployed.schema,
        defaults: news.schema,
        allowVectorSwitch: true,
        shownAs: (key) => `memory-stack:${key}`,
        recordedIn: deployed.from === "state" ? "the stack's state (its last up)" : "the database's migration ledger",
    });
}

/** Where a fact was read, in a message's parentheses. */
function source(deployed: Deployed): string {
    return deployed.from === "state" ? "the stack's state" : "the server";
}

/**
 * At preview: the connection naming another database than the one the schema is deployed in. Update would apply the
 * schema afresh there and leave the old one's memory tables, rows, policies and grants out of Pulumi's reach; with docker
 * the server's volume holds only the database it was initialised with, and PgBouncer would already serve the new name
 * (the application's pooled URL refused) when the schema failed. An unknown connection (a password generated anew at
 * preview) says nothing here.
 */
function refuseMovedDatabase(deployed: Deployed, news: Requested): void {
    const was = deployed.database;
    const now: unknown = news.connection;
    const database = typeof now === "object" && now !== null ? (now as ConnectionSettings).database : undefined;
    if (was === undefined || database === undefined || database === was) {
        return;
    }
    throw new Error(
        `the stack's connection names database ${JSON.stringify(database)} (memory-stack:database, or the database of ` +
            `memory-stack:databaseUrl), but the memory schema is deployed in database ${JSON.stringify(was)} (${source(deployed)}); ` +
            `nothing was done. An up would apply the schema afresh in ${JSON.stringify(database)} and leave ${JSON.stringify(was)}'s ` +
            `memory tables and rows behind, out of the stack's reach. Set it back to ${JSON.stringify(was)}; to move the stack, ` +
            `\`pulumi destroy\` it first (the schema rolls back from ${JSON.stringify(was)}), then \`pulumi up\`.`,
    );
}

/**
 * At preview: a server image on the other C library than the one the data volume was built by (postgres:15-alpine, musl,
 * to pgvector/pgvector:pg15, glibc: what vector: true swaps in on the dev stack). The server's start script refuses to
 * start on it (text indexes in the wrong order), but only once the old container is gone; this says so before anything
 * changes. Known only for state written since it kept the image, and for images whose reference names their library.
 */
function refuseOtherLibc(deployed: Deployed, news: Requested): void {
    if (deployed.libc === undefined || news.serverImage === undefined) {
        return;
    }
    const [was, now] = [deployed.libc.libc, imageLibc(news.serverImage)];
    if (now === undefined || was === now) {
        return;
    }
    throw new Error(
        `the server's image would become ${news.serverImage} (${now}; memory-stack:image, or with none set the pgvector image ` +
            `memory-stack:vector true picks), but the server's data volume was built by ${deployed.libc.builtBy} ` +
            `(${was}); nothing was done. The two C libraries sort text differently: every text index in the volume would miss rows ` +
            `and let duplicates in, and the server refuses to start on it. Keep an image on ${was}` +
            `${was === "musl" ? " (an Alpine one; pgvector's are Debian, so vector stays false on this volume)" : " (a Debian one, such as postgres:15 or pgvector/pgvector:pg15)"}, or move the data ` +
            `with pg_dump and pg_restore to a stack on a new volume (docs/lifecycle.md).`,
    );
}

/**
 * At preview, docker (the inputs carry the server's image): another owner `user` than the one the data volume was
 * initialised with. The image creates its owner only in an empty volume, so the replaced container (the old one is
 * removed first) never turns healthy: its start script cannot log in as a role that does not exist there.
 */
function refuseNewDockerOwner(deployed: Deployed, news: Requested): void {
    const was = deployed.owner;
    const now: unknown = news.connection;
    const user = typeof now === "object" && now !== null ? (now as ConnectionSettings).user : undefined;
    if (news.serverImage === undefined || was === undefined || user === undefined || user === was) {
        return;
    }
    throw new Error(
        `memory-stack:user asks for owner ${JSON.stringify(user)}, but the server's data volume was initialised with owner ` +
            `${JSON.stringify(was)} (${source(deployed)}); nothing was done. The postgres image creates its owner only in an empty ` +
            `volume: the replaced server would never turn healthy. Set it back to ${JSON.stringify(was)}; to start over under ` +
            `another owner, \`pulumi destroy\` with retainVolumeOnDestroy: false (its data goes with the volume), then \`pulumi up\`.`,
    );
}

/**
 * From the server, docker: a `database` the data volume does not hold, where no schema was applied for refuseMovedDatabase
 * to keep. The image creates POSTGRES_DB only in an empty volume: the replaced server would have no such database, and
 * every connection after it would fail.
 */
function refuseAbsentDockerDatabase(deployed: Deployed, news: Requested): void {
    const now: unknown = news.connection;
    const database = typeof now === "object" && now !== null ? (now as ConnectionSettings).database : undefined;
    if (
        news.serverImage === undefined ||
        deployed.databases === undefined ||
        database === undefined ||
        deployed.databases.includes(database)
    ) {
        return;
    }
    throw new Error(
        `memory-stack:database asks for database ${JSON.stringify(database)}, but the server's data volume holds no such ` +
            `database (${source(deployed)}); nothing was done. The postgres image creates its database only in an empty volume: ` +
            `every connection to the replaced server would fail. Set it back to ${JSON.stringify(deployed.database)}; to start ` +
            `over under another database, \`pulumi destroy\` with retainVolumeOnDestroy: false (its data goes with the volume), ` +
            `then \`pulumi up\`.`,
    );
}
