// The preflight's other checks, through the CLI: what used to stop an apply half way is refused before
// any change, every conflict in one message — a reserved or clashing role name, vector without
// pgvector on the server, a connecting role that does not own users or may not create in public.
import { afterAll, describe, expect, it } from "vitest";
import { formatConflicts, preflight } from "../../engine/migrate/preflight";
import { DEFAULT_OPTIONS } from "../support/apply-sql";
import { cli } from "../support/cli";
import { dropRoles, freshDatabase, sharedServer, withClient, type TestDatabase } from "../support/database";
import { databaseFingerprint } from "../support/database-fingerprint";

const databases: TestDatabase[] = [];
const roles: string[] = [];

afterAll(async () => {
    await Promise.all(databases.map((db) => db.drop()));
    await dropRoles(sharedServer(), roles);
});

async function database(prefix: string): Promise<TestDatabase> {
    const db = await freshDatabase(prefix);
    databases.push(db);
    return db;
}

describe("the preflight", () => {
    it("lists a reserved role name and a missing pgvector in one refusal, changing nothing", async () => {
        const db = await database("preflight_roles");
        const client = await db.connect();
        const before = await databaseFingerprint(client);
        const vector = ["--vector", "--dimensions", "3", "--admin-role", `${db.name}_admin`];

        const plan = await cli(["plan", ...vector], { DATABASE_URL: db.url });
        const apply = await cli(["apply", ...vector], { DATABASE_URL: db.url });
        expect([plan.code, apply.code]).toEqual([1, 1]);
        for (const output of [plan.stdout, apply.stderr]) {
            expect(output).toContain("- extension vector: is not available on this server. Use a server with pgvector");
        }
        expect(apply.stderr).toContain("refusing to apply the memory schema: 1 conflict found before any change; nothing was changed.");
        // The CLI refuses a reserved name as bad usage before connecting (cli.test.ts); the engine's preflight lists it
        // with the rest, for any other caller.
        const conflicts = await withClient(db.config, (session) =>
            preflight(
                session,
                { ...DEFAULT_OPTIONS, vector: true, vectorDimensions: 3, appRole: "pg_agents", adminRole: `${db.name}_admin` },
                [],
            ),
        );
        expect(formatConflicts(conflicts)).toContain(
            "- role pg_agents (appRole): names starting with pg_ are reserved by PostgreSQL. Choose another appRole",
        );
        expect(formatConflicts(conflicts)).toContain("- extension vector: is not available on this server. Use a server with pgvector");
        expect(await databaseFingerprint(client)).toEqual(before);
    });

    it("refuses the app role names PostgreSQL reserves, and an app role that bypasses row level security, changing nothing", async () => {
        const db = await database("preflight_bypass");
        const client = await db.connect();
        const [superApp, bypassApp, admin] = [`${db.name}_super`, `${db.name}_bypass`, `${db.name}_admin`];
        roles.push(superApp, bypassApp, admin);
        await client.query(`create role ${superApp} nologin superuser; create role ${bypassApp} nologin bypassrls`);
        const fingerprint = await databaseFingerprint(client);

        for (const appRole of ["none", "current_user"]) {
            const apply = await cli(["apply", "--app-role", appRole, "--admin-role", admin], { DATABASE_URL: db.url });
            expect(apply.code, apply.stderr).toBe(2);
            expect(apply.stderr).toContain(`--app-role "${appRole}": is a name PostgreSQL reserves`);
            const conflicts = await withClient(db.config, (session) =>
                preflight(session, { ...DEFAULT_OPTIONS, appRole, adminRole: admin }, []),
            );
            expect(formatConflicts(conflicts)).toContain(
                `- role ${appRole} (appRole): this name is reserved by PostgreSQL. Choose another appRole`,
            );
        }
        for (const [appRole, problem, fix] of [
            [
                superApp,
                "is a superuser: row level security would not apply to it",
                `Choose another appRole, or alter role ${superApp} nosuperuser`,
            ],
            [
                bypassApp,
                "is BYPASSRLS: row level security would not apply to it",
                `Choose another appRole, or alter role ${bypassApp} nobypassrls`,
            ],
        ]) {
            const plan = await cli(["plan", "--app-role", appRole, "--admin-role", admin], { DATABASE_URL: db.url });
            const apply = await cli(["apply", "--app-role", appRole, "--admin-role", admin], { DATABASE_URL: db.url });
            expect([plan.code, apply.code], apply.stderr).toEqual([1, 1]);
            expect(plan.stdout).toContain(`- role ${appRole} (appRole): ${problem}. ${fix}`);
            expect(apply.stderr).toContain(`- role ${appRole} (appRole): ${problem}. ${fix}`);
            expect(await databaseFingerprint(client)).toEqual(fingerprint);
        }
        expect(await databaseFingerprint(client)).toEqual(fingerprint);
    });

    // From attack24: the config refuses template1 as the stack's database, but `memory-stack apply` to a URL ending in
    // /template1 applied there, and every database created after it would have started with the memory tables.
    it("refuses a template database: each CREATE DATABASE would copy the memory tables", async () => {
        const db = await database("preflight_template");
        const client = await db.connect();
        await client.query(`alter database ${db.name} is_template true`);
        const before = await databaseFingerprint(client);
        const flags = ["--app-role", `${db.name}_app`, "--admin-role", `${db.name}_admin`];
        roles.push(`${db.name}_app`, `${db.name}_admin`);

        const plan = await cli(["plan", ...flags], { DATABASE_URL: db.url });
        const apply = await cli(["apply", ...flags], { DATABASE_URL: db.url });
        await client.query(`alter database ${db.name} is_template false`);
        expect([plan.code, apply.code], apply.stderr).toEqual([1, 1]);
        for (const output of [plan.stdout, apply.stderr]) {
            expect(output).toContain(`- database ${db.name}: is a template database: every CREATE DATABASE copies it`);
        }
        expect(await databaseFingerprint(client)).toEqual(before);
    });

    it("names a role that is the connecting user: the CLI refuses the flag before connecting, the engine's preflight lists it", async () => {
        const db = await database("preflight_owner");
        const client = await db.connect();
        const deployer = `${db.name}_deployer`;
        roles.push(deployer);
        await client.query(`create role ${deployer} login superuser password 'deployer-password'`);
        const url = db.url.replace(`${db.server.user}:${encodeURIComponent(db.server.password)}@`, `${deployer}:deployer-password@`);

        const apply = await cli(["apply", "--admin-role", deployer], { DATABASE_URL: url });
        expect(apply.code).toBe(2);
        expect(apply.stderr).toContain(`--admin-role "${deployer}": must differ from the owner user (${deployer})`);

        const asDeployer = await withClient({ ...db.config, user: deployer, password: "deployer-password" }, (session) =>
            preflight(session, { ...DEFAULT_OPTIONS, appRole: `${db.name}_app`, adminRole: deployer }, []),
        );
        expect(formatConflicts(asDeployer)).toContain(
            `- role ${deployer} (adminRole): is the connecting user, which owns the memory tables: row level security would not apply to it.`,
        );
    });

    it("refuses a connecting role that does not own users, and one that may not create in public, before any change", async () => {
        const db = await database("preflight_rights");
        const migrator = `${db.name}_migrator`;
        roles.push(migrator, `${db.name}_app`, `${db.name}_admin`);
        const owner = await db.connect();
        await owner.query(`create table public.users (id uuid primary key, email text);
            create role ${migrator} login password 'migrator-password' createrole; grant create on database "${db.name}" to ${migrator}`);
        const before = await databaseFingerprint(owner);
        const url = db.url.replace(`${db.server.user}:${encodeURIComponent(db.server.password)}@`, `${migrator}:migrator-password@`);
        const flags = ["--app-role", `${db.name}_app`, "--admin-role", `${db.name}_admin`];

        const apply = await cli(["apply", ...flags], { DATABASE_URL: url });

        expect(apply.code).toBe(1);
        expect(apply.stderr).toContain(`- schema public: the connecting role ${migrator} may not create objects in it.`);
        expect(apply.stderr).toContain(
            `- table public.users: the memory columns must be added to it and the connecting role is not its owner (${db.server.user}) or a member of that role.`,
        );
        expect(await databaseFingerprint(owner)).toEqual(before);

        await owner.query(`grant create on schema public to ${migrator}; alter table public.users owner to ${migrator}`);
        const granted = await cli(["apply", ...flags], { DATABASE_URL: url });
        expect(granted.code, granted.stderr).toBe(0);
        await owner.query(`drop owned by ${migrator}`);
    });
});
