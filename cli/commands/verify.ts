// memory-stack verify: the same report the post-deploy Verification resource fails `pulumi up` with.
import { schemaStatus } from "../../engine/migrate/status";
import { expectationsFor, formatReport, verifySchema } from "../../engine/verify/index";
import type { Command } from "./command";

export const verify: Command = async ({ client, schema, migrations, variant }) => {
    const report = await verifySchema(client, await expectationsFor(schema, migrations));
    // A database an older release migrated misses this release's newest objects: what it needs is apply, not a repair by hand.
    const status = report.ok ? undefined : await schemaStatus(client, migrations, variant);
    const pending = status && status.ledger && status.drift.length === 0 ? status.pending : [];
    return { exitCode: report.ok ? 0 : 1, text: formatReport(report, pending), json: { ...report, pending } };
};
