// memory-stack verify: the same report the post-deploy Verification resource fails `pulumi up` with.
import { expectationsFor, formatReport, verifySchema } from "../../engine/verify/index";
import type { Command } from "./command";

export const verify: Command = async ({ client, schema, migrations }) => {
    const report = await verifySchema(client, await expectationsFor(schema, migrations));
    return { exitCode: report.ok ? 0 : 1, text: formatReport(report), json: report };
};
