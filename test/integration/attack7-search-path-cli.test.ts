// attack7: the commands that do not change the schema, on a database where a role may create in public
// and planted what the engine's statements would prefer to pg_catalog's (format on text, quote_ident on
// name, unnest on text[]): none of it runs. verify-squatting.test.ts plants other signatures; these are
// the ones attack7-search-path.test.ts shows running in a rollback and a `no transaction` step.
import type { Client } from "pg";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { cli } from "../support/cli";
import { grantStackPrivileges, schemaDatabase, type SchemaDatabase } from "../support/schema-db";

const PASSWORD = "attack7-cli-app-password";
let schema: SchemaDatabase;
let app: Client;

const PLANTS: Record<string, { signature: string; returns: string; body: string }> = {
    format_text: { signature: "format(text, text, text)", returns: "text", body: "return pg_catalog.format($1, $2, $3);" },
    format_name: { signature: "format(text, name, text)", returns: "text", body: "return pg_catalog.format($1, $2, $3);" },
    quote_ident: { signature: "quote_ident(name)", returns: "text", body: "return pg_catalog.quote_ident($1::text);" },
    unnest: { signature: "unnest(text[])", returns: "setof text", body: "return query select pg_catalog.unnest($1);" },
};

async function ran(): Promise<string[]> {
    const { rows } = await schema.client.query<{ name: string; called: boolean }>(
        Object.keys(PLANTS)
            .map((name) => `select '${name}' as name, is_called as called from public.attack7_seen_${name}`)
            .join(" union all "),
    );
    return rows.filter((row) => row.called).map((row) => row.name);
}

beforeAll(async () => {
    schema = await schemaDatabase("attack7_cli");
    await grantStackPrivileges(schema.client, schema.options);
    await schema.client.query(`alter role "${schema.options.appRole}" login password '${PASSWORD}'`);
    await schema.client.query("grant create on schema public to public");
    app = new (await import("pg")).Client({ ...schema.db.config, user: schema.options.appRole, password: PASSWORD });
    await app.connect();
    for (const [name, plant] of Object.entries(PLANTS)) {
        await app.query(`
            create sequence public.attack7_seen_${name};
            grant usage, update, select on sequence public.attack7_seen_${name} to public;
            create function public.${plant.signature} returns ${plant.returns} language plpgsql as $$
            begin
                perform pg_catalog.setval('public.attack7_seen_${name}', 1);
                ${plant.body}
            end
            $$;`);
    }
});

afterAll(async () => {
    await app?.end().catch(() => undefined);
    await schema?.drop();
});

beforeEach(async () => {
    for (const name of Object.keys(PLANTS)) {
        await schema.client.query(`select pg_catalog.setval('public.attack7_seen_${name}', 1, false)`);
    }
});

describe("format(text, text, text), format(text, name, text), quote_ident(name), unnest(text[]) planted in public", () => {
    it.each(["status", "plan", "verify", "apply", "apply --repair"])("are not run by `memory-stack %s`", async (command) => {
        const { appRole, adminRole } = schema.options;
        const args = command.split(" ");
        const run = await cli([...args, "--app-role", appRole, "--admin-role", adminRole], { DATABASE_URL: schema.db.url });
        expect(run.stderr).not.toMatch(/TypeError|ReferenceError/);
        expect(await ran()).toEqual([]);
    });
});
