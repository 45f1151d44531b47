// Functions a role that may create in schema public plants there, each one PostgreSQL prefers to
// pg_catalog's for the argument types the engine's statements give it (CVE-2018-1058), and each counting
// its calls in a sequence of its own (no rollback rewinds one): whatever runs them runs the role's code
// with its own rights.
import { Client, type ClientConfig } from "pg";

const PLANTS: Record<string, { signature: string; returns: string; body: string }> = {
    // format('%I.%I', <text>, <text>): dependents.ts, rollback.sql, the index build's oid update (created_objects' text columns).
    format_text: { signature: "format(text, text, text)", returns: "text", body: "return pg_catalog.format($1, $2, $3);" },
    // format('%I.%I', n.nspname, $1) and the like on columns of type name.
    format_name: { signature: "format(text, name, text)", returns: "text", body: "return pg_catalog.format($1, $2, $3);" },
    // quote_ident(n.nspname): recordIndexAhead, in a migration transaction.
    quote_ident: { signature: "quote_ident(name)", returns: "text", body: "return pg_catalog.quote_ident($1::text);" },
    // unnest($1::text[]): withSessionSettings' read of the settings it saves.
    unnest: { signature: "unnest(text[])", returns: "setof text", body: "return query select pg_catalog.unnest($1);" },
};

/** What the planted functions are, for a test's name. */
export const PLANTED = "format(text, text, text), format(text, name, text), quote_ident(name), unnest(text[])";

/** Plants them as `planter`, a role that may create in public. */
export async function plant(planter: Client): Promise<void> {
    for (const [name, plant] of Object.entries(PLANTS)) {
        await planter.query(`
            create sequence public.planted_seen_${name};
            grant usage, update, select on sequence public.planted_seen_${name} to public;
            create function public.${plant.signature} returns ${plant.returns} language plpgsql as $$
            begin
                perform pg_catalog.setval('public.planted_seen_${name}', 1);
                ${plant.body}
            end
            $$;`);
    }
}

/** Forgets earlier calls. */
export async function resetPlanted(client: Client): Promise<void> {
    for (const name of Object.keys(PLANTS)) {
        await client.query(`select pg_catalog.setval('public.planted_seen_${name}', 1, false)`);
    }
}

/** The planted functions that ran since the last reset. */
export async function plantedRan(client: Client): Promise<string[]> {
    const { rows } = await client.query<{ name: string; called: boolean }>(
        Object.keys(PLANTS)
            .map((name) => `select '${name}' as name, is_called as called from public.planted_seen_${name}`)
            .join(" union all "),
    );
    return rows.filter((row) => row.called).map((row) => row.name);
}

// `oid = regclass`: pg_catalog has no =(oid, regclass), only =(oid, oid) through a cast, so an exact one planted in public
// wins for `attrelid = to_regclass(…)` written without operator(pg_catalog.=).
const OID_REGCLASS_EQUALS = `
    create sequence public.planted_seen_eq;
    grant usage, update, select on sequence public.planted_seen_eq to public;
    create function public.planted_eq(oid, regclass) returns boolean language plpgsql as $$
    begin
        perform pg_catalog.setval('public.planted_seen_eq', 1);
        return $1 operator(pg_catalog.=) $2::pg_catalog.oid;
    end
    $$;
    create operator public.= (leftarg = oid, rightarg = regclass, function = public.planted_eq);`;

/** Plants an =(oid, regclass) in public as `planter`, counting its calls (plantedEqualsRan). */
export async function plantOidRegclassEquals(planter: Client): Promise<void> {
    await planter.query(OID_REGCLASS_EQUALS);
}

/** Whether the planted =(oid, regclass) ran since it was planted or `reset` last; `reset`: forget its calls after asking. */
export async function plantedEqualsRan(client: Client, reset = false): Promise<boolean> {
    const called = (await client.query<{ called: boolean }>("select is_called as called from public.planted_seen_eq")).rows[0].called;
    if (reset) {
        await client.query("select pg_catalog.setval('public.planted_seen_eq', 1, false)");
    }
    return called;
}

/**
 * A connected session of `role` on the database `owner` is on (`config`), with CREATE on schema public granted to PUBLIC,
 * as a database begun before PostgreSQL 15 has it: a role that may plant there. `create`: the role is made anew (a test's
 * own); otherwise it exists (the stack's app role) and gets `password` to log in with.
 */
export async function plantingSession(
    owner: Client,
    config: ClientConfig,
    role: string,
    password: string,
    create: boolean,
): Promise<Client> {
    if (create) {
        await owner.query(`drop role if exists ${role}`);
        await owner.query(`create role ${role} login password '${password}'`);
    } else {
        await owner.query(`alter role "${role}" login password '${password}'`);
    }
    await owner.query("grant create on schema public to public");
    const planter = new Client({ ...config, user: role, password });
    await planter.connect();
    return planter;
}
