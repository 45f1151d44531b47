// BUG on 6b0c820: verify keyed the functions' expected bodies by name alone, so the last migration to define any function
// of a name gave every overload of it its body. A later migration adding a three-argument embedding_search beside 0014's
// six-argument one failed verify on a database exactly as the migrations left it ("body differs from the one in
// 0019_…"), and a hand-made change to one overload's body was told apart from the other's only by chance. Each overload
// is now expected to have the body of its own last definition (name and argument types).
import { createHash } from "node:crypto";
import { afterAll, beforeAll, expect, it } from "vitest";
import { applyMigrations, describeVariant } from "../../engine/migrate/index";
import { readCatalog } from "../../engine/verify/catalog";
import { expectationsFor, functionName, type Expectations } from "../../engine/verify/expected";
import { describeProblem, verifySchema } from "../../engine/verify/index";
import { migrationsFor } from "../support/apply-sql";
import { grantStackPrivileges, schemaDatabase, type SchemaDatabase } from "../support/schema-db";

const SIX =
    "public.embedding_search(target text, query_embedding jsonb, match_count integer, filter_user_id uuid, candidates integer, exact boolean)";
const THREE = "public.embedding_search(target text, query_embedding jsonb, match_count integer)";

const threeArguments = (body: string) =>
    `create or replace function public.embedding_search(target text, query_embedding jsonb, match_count integer)
     returns table (id uuid, similarity double precision) language sql stable set search_path = '' as $$${body}$$`;
const THREE_BODY = " select * from public.embedding_search(target, query_embedding, match_count, null, null, false) ";

function migration(name: string, sql: string) {
    return { name, sql, checksum: createHash("sha256").update(sql).digest("hex") };
}

let schema: SchemaDatabase;
let migrations: ReturnType<typeof migration>[];
let expected: Expectations;
beforeAll(async () => {
    schema = await schemaDatabase("a34_overloads", {}, false);
    migrations = [...migrationsFor(schema.options), migration("0019_search_shorthand.sql", threeArguments(THREE_BODY))];
    await applyMigrations(schema.client, migrations, { variant: describeVariant(schema.options) });
    await grantStackPrivileges(schema.client, schema.options);
    expected = await expectationsFor(schema.options, migrations);
    expected.manifest.functions.push(THREE);
});
afterAll(async () => {
    await schema?.drop();
});

/** The problems verify reports with `sql` run first (rolled back with verification's own transaction). */
async function problemsWith(sql: string, expecting = expected): Promise<string[]> {
    await schema.client.query("begin");
    await schema.client.query(sql);
    return (await verifySchema(schema.client, expecting)).problems.map(describeProblem);
}

/** The six-argument embedding_search as deployed, with a line added to its body. */
async function sixChanged(): Promise<string> {
    const definition = (
        await schema.client.query<{ sql: string }>(
            "select pg_get_functiondef('public.embedding_search(text, jsonb, integer, uuid, integer, boolean)'::regprocedure) as sql",
        )
    ).rows[0].sql;
    return definition.replace(/\$function\$\s*$/, "-- changed\n$function$");
}

it("expects each overload to have the body of its own definition, the later migration's one included", async () => {
    expect(await problemsWith("select")).toEqual([]);
});

it("fails the overload whose body was changed and passes the other", async () => {
    const three = await problemsWith(threeArguments(" select null::uuid, 1::double precision "));
    expect(three).toEqual([`function ${THREE}: body differs from the one in 0019_search_shorthand.sql`]);

    const six = await problemsWith(await sixChanged());
    expect(six).toEqual([`function ${SIX}: body differs from the one in 0014_similarity_jsonb_fast.sql`]);
});

it("expects one overload redefined by a later migration to have that migration's body, the other its own", async () => {
    const redefined = migration("0020_search_again.sql", await sixChanged());
    const later = await expectationsFor(schema.options, [...migrations, redefined]);
    later.manifest.functions.push(THREE);

    expect(await problemsWith(redefined.sql, later)).toEqual([]);
    expect(await problemsWith("select", later)).toEqual([`function ${SIX}: body differs from the one in 0020_search_again.sql`]);
});

it("finds the fingerprint of every function the migrations define by the argument types the catalog reads", async () => {
    const { functions } = await readCatalog(schema.client, expected);
    const proven = functions
        .filter((found) => expected.manifest.functions.includes(found.signature))
        .filter((found) => expected.fingerprints.functions[`${functionName(found.signature)}(${found.arguments})`] !== undefined);

    // auth.uid() is created in a do block: checked for existence only (fingerprints.ts).
    expect(proven.length).toBe(expected.manifest.functions.length - 1);
});
