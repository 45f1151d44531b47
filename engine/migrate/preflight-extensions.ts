// The preflight's checks of where the extensions' names resolve. Migrations run with the engine's
// search_path (search-path.ts): public, then the schema of an installed uuid-ossp or vector. So an
// application's function or type in public with one of their names breaks an apply: installing the
// extension into public fails on it (42723, 42710), or, with the extension installed in another
// schema, the files' unqualified uuid_generate_v4() and vector(N) would resolve to the application's
// object first. An extension in a schema the connecting role may not use fails as well.
import { textArray } from "../db/literal";
import type { Conflict } from "./preflight";

// Each extension's names the files use, or that installing it into public would collide with.
const MEMBERS: Record<string, { functions: string[]; types: string[]; called: string[] }> = {
    "uuid-ossp": {
        functions: [
            "uuid_nil()",
            "uuid_ns_dns()",
            "uuid_ns_url()",
            "uuid_ns_oid()",
            "uuid_ns_x500()",
            "uuid_generate_v1()",
            "uuid_generate_v1mc()",
            "uuid_generate_v3(uuid,text)",
            "uuid_generate_v4()",
            "uuid_generate_v5(uuid,text)",
        ],
        types: [],
        // what the files call without a schema: the id defaults of users and the memory tables
        called: ["uuid_generate_v4()"],
    },
    vector: { functions: [], types: ["vector", "halfvec", "sparsevec"], called: ["vector", "halfvec"] },
};

const MOVE = "Rename the application's object or move it out of schema public";

/** SQL: where each extension the migrations use is installed and which of its names public holds; one row per extension. */
export function extensionsRead(extensions: string[]): string {
    const wanted = extensions.filter((name) => MEMBERS[name] !== undefined);
    const owners = wanted.flatMap((name) => [...MEMBERS[name].functions, ...MEMBERS[name].types].map(() => name));
    const members = wanted.flatMap((name) => [...MEMBERS[name].functions, ...MEMBERS[name].types]);
    return `select w.name, n.nspname as schema, coalesce(has_schema_privilege(n.oid, 'USAGE'), true) as usable, current_user as me,
                array(select m from unnest(${textArray(owners)}, ${textArray(members)}) as x(ext, m)
                       where x.ext = w.name and case when m ~ '[(]' then to_regprocedure('public.' || m) is not null
                                                       else to_regtype('public.' || quote_ident(m)) is not null end) as found
           from unnest(${textArray(wanted)}) as w(name)
           left join pg_extension e on e.extname = w.name left join pg_namespace n on n.oid = e.extnamespace`;
}

export interface ExtensionRow {
    name: string;
    schema: string | null;
    usable: boolean;
    me: string;
    found: string[];
}

/** The conflicts extensionsRead's rows show. */
export function extensionConflicts(rows: ExtensionRow[]): Conflict[] {
    const conflicts: Conflict[] = [];
    for (const extension of rows) {
        const members = MEMBERS[extension.name];
        const describe = (member: string) => (member.includes("(") ? `function public.${member}` : `type public.${member}`);
        if (extension.schema === null) {
            for (const member of extension.found) {
                conflicts.push({
                    object: describe(member),
                    problem: `exists and is not ${extension.name}'s: installing ${extension.name} into schema public, where the memory schema puts it, would fail on it`,
                    fix: members.called.includes(member)
                        ? MOVE
                        : `${MOVE}, or install ${extension.name} into another schema first (create extension "${extension.name}" schema <schema>)`,
                });
            }
        } else if (extension.schema !== "public") {
            for (const member of extension.found.filter((name) => members.called.includes(name))) {
                conflicts.push({
                    object: describe(member),
                    problem:
                        `is not ${extension.name}'s (${extension.name} is installed in schema ${extension.schema}), and the migrations run with ` +
                        `search_path public, ${extension.schema}: their ${member.includes("(") ? `calls to ${member}` : `${member} columns`} would resolve to it`,
                    fix: MOVE,
                });
            }
        }
        if (!extension.usable) {
            conflicts.push({
                object: `extension ${extension.name}`,
                problem: `is installed in schema ${extension.schema}, which the connecting role ${extension.me} may not use, so the migrations cannot use it`,
                fix: `grant usage on schema ${extension.schema} to ${extension.me}, or connect as a role that may`,
            });
        }
    }
    return conflicts;
}
