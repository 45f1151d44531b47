// memory-stack apply: the preflight, then the pending migrations, each in its own transaction, under the migration lock.
import { describeChangedColumns } from "../../engine/migrate/changed-columns";
import { applyMigrations, describeRepair } from "../../engine/migrate/apply";
import { databasesUsingRoles } from "../../engine/migrate/roles-elsewhere";
import { describeWaits } from "../../engine/migrate/session";
import { stepProgress } from "../progress";
import type { Command } from "./command";

export const apply: Command = async ({ client, args, schema, migrations, variant, progress, session }) => {
    const result = await applyMigrations(client, migrations, {
        variant,
        schema,
        grantRoles: true,
        repair: args.repair,
        ...session,
        steps: { maintenanceWorkMemMb: args.maintenanceWorkMemMb, onEvent: stepProgress(progress) },
        onProgress: ({ name, durationMs, index, total }) => progress(`applied ${name} in ${Math.round(durationMs)} ms (${index}/${total})`),
    });
    describeRepair(result.repaired).forEach((line) => progress(line));
    describeChangedColumns(result.changedColumns).forEach((line) => progress(line));
    // The same privilege list the Pulumi stack's Grants component declares, on what the schema created.
    const { grants, grantsLeftToYou } = result;
    if (grants.length > 0) {
        progress(`granted ${schema.appRole} and ${schema.adminRole} their privileges on the memory schema (${grants.length} grants)`);
    }
    if (grantsLeftToYou.length > 0) {
        progress(
            `public.users is your application's table: memory-stack apply leaves its privileges to its owner. ${schema.adminRole} needs ` +
                `these on it (pulumi up's Grants component grants them, and revokes them on destroy): ${grantsLeftToYou.join("; ")}`,
        );
    }
    if (result.revokedFrom.length > 0) {
        progress(
            `revoked TRUNCATE, REFERENCES and TRIGGER on the memory tables, and every privilege on the stack's bookkeeping tables, from ` +
                `${result.revokedFrom.join(", ")} (default privileges gave them): row level security does not restrict them, a trigger ` +
                "of another role's would run as whoever writes next, and a row written into the bookkeeping would have the rollback drop an application's table",
        );
    }
    const count = result.applied.length;
    // Asked on a first deploy (or an upgrade) only: a repeated apply runs on every deploy.
    const rolesAlsoUsedBy = count > 0 ? await databasesUsingRoles(client, [schema.appRole, schema.adminRole]) : [];
    if (rolesAlsoUsedBy.length > 0) {
        const many = rolesAlsoUsedBy.length > 1;
        progress(
            `${schema.appRole} and ${schema.adminRole} are the server's roles, not this database's: ${many ? "databases" : "database"} ${rolesAlsoUsedBy.join(", ")} ` +
                `${many ? "use" : "uses"} them too, so a login that becomes one of them there reaches this database's memory rows as well (as the app ` +
                `role, any user's once it binds them; as the admin role, every row). To keep the databases apart, roll back here and ` +
                `apply again with an --app-role and --admin-role (appRole, adminRole) of this database's own`,
        );
    }
    return {
        exitCode: 0,
        text:
            count === 0
                ? `nothing to apply; the schema is at ${result.version} (${variant})`
                : `applied ${count} migration${count === 1 ? "" : "s"} in ${Math.round(result.durationMs)} ms${describeWaits(result.waits)}; ` +
                  `the schema is at ${result.version} (${variant})`,
        json: {
            variant,
            version: result.version,
            applied: result.applied.map(({ name, durationMs }) => ({ name, durationMs: Math.round(durationMs) })),
            durationMs: Math.round(result.durationMs),
            waits: result.waits,
            appliedMigrations: result.appliedMigrations,
            repaired: result.repaired,
            grants,
            grantsLeftToYou,
            revokedFrom: result.revokedFrom,
            changedColumns: result.changedColumns,
            rolesAlsoUsedBy,
        },
    };
};
