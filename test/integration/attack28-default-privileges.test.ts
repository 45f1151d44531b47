// BUG on 0b697ca: default privileges an application (or Supabase) set for the deploying role — `alter default privileges
// in schema public grant all on tables to anon` — gave anon TRUNCATE, REFERENCES and TRIGGER on every memory table the
// apply created, and verify passed. Row level security restricts none of them: anon could empty every user's sessions,
// or put a trigger of its own (a function in pg_temp will do) on a memory table that then runs as whoever writes next,
// the owner in a migration's backfill. 0012 took them from the app role alone. Apply now takes them from every grantee
// but the owner and says so; verify reports a grantee that holds them again.
import type { Client } from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { cli } from "../support/cli";
import { dropRoles, freshDatabase, sharedServer, type TestDatabase } from "../support/database";

const databases: TestDatabase[] = [];
const roles: string[] = [];

afterAll(async () => {
    await Promise.all(databases.map((db) => db.drop()));
    await dropRoles(sharedServer(), roles);
});

/** Which of TRUNCATE (D), REFERENCES (x), TRIGGER (t) `grantee` ("" for PUBLIC) holds directly on public.sessions. */
async function unrestricted(client: Client, grantee: string): Promise<string> {
    const { rows } = await client.query<{ acl: string[] }>(
        "select relacl::text[] as acl from pg_class where oid = 'public.sessions'::regclass",
    );
    const item = rows[0].acl.find((entry) => entry.startsWith(`${grantee}=`)) ?? "=/";
    return [...item.slice(grantee.length + 1, item.indexOf("/"))].filter((letter) => "Dxt".includes(letter)).join("");
}

describe("default privileges that give other roles every privilege on new tables", () => {
    it("leave no role but the owner TRUNCATE, REFERENCES or TRIGGER on the memory tables, and verify reports one given again", async () => {
        const db = await freshDatabase("a28_default_privileges");
        databases.push(db);
        const [app, admin, anon] = ["app", "admin", "anon"].map((role) => `${db.name}_${role}`);
        roles.push(app, admin, anon);
        const client = await db.connect();
        await client.query(`create role ${anon} nologin;
            alter default privileges in schema public grant all on tables to ${anon};
            alter default privileges in schema public grant references, trigger on tables to public;
            alter default privileges grant insert, delete on tables to public`);
        const env = { DATABASE_URL: db.url };

        const apply = await cli(["apply", "--app-role", app, "--admin-role", admin], env);

        expect(apply.code, apply.stderr).toBe(0);
        expect(apply.stderr).toContain(
            `revoked TRUNCATE, REFERENCES and TRIGGER on the memory tables, and every privilege on the stack's bookkeeping tables, from ${anon}, public`,
        );
        expect({ anon: await unrestricted(client, anon), public: await unrestricted(client, "") }).toEqual({ anon: "", public: "" });
        const ledger = await client.query(
            "select relname, relacl::text[] as acl from pg_class where relnamespace = 'memory_stack'::regnamespace and relkind = 'r'",
        );
        expect(
            ledger.rows.filter((row: { acl: string[] | null }) => row.acl?.some((entry) => !entry.startsWith(`${db.config.user}=`))),
        ).toEqual([]);
        // What default privileges give that row level security restricts stays: the application's choice.
        expect((await client.query("select has_table_privilege($1, 'public.sessions', 'select') as ok", [anon])).rows[0].ok).toBe(true);

        await client.query(`grant select on public.users to ${admin}; grant update on public.users to ${admin};
            grant trigger on public.sessions, public.memory_logs to ${anon}; grant insert on memory_stack.created_objects to ${anon}`);
        const verify = await cli(["verify"], env);

        expect(verify.code).toBe(1);
        expect(verify.stdout + verify.stderr).toContain(
            `privilege ${anon}: holds TRUNCATE, REFERENCES or TRIGGER on public.memory_logs, public.sessions, and privileges on the stack's bookkeeping tables memory_stack.created_objects, which no role but the owner may`,
        );
        expect(verify.stdout + verify.stderr).toContain(
            `revoke truncate, references, trigger on public.memory_logs, public.sessions from ${anon}`,
        );
    });
});
