// The shape half of the catalog comparison: what makes a same-named object another object. A column of
// another type, a constraint gone or deleting otherwise, a function of another volatility, a trigger that
// fires otherwise, and a policy that is not the stack's but adds to what the app role may reach.
import type { CatalogSnapshot } from "./catalog";
import { CHECK_RULES_PG15 } from "./check-rules";
import type { Expectations } from "./expected";
import type { Fingerprints, FunctionFingerprint, TriggerDefinition } from "./fingerprints";
import type { Problem } from "./report";

type Found = { name: string; issue: string };

const ON_DELETE: Record<string, string> = { a: "no action", r: "restrict", c: "cascade", n: "set null", d: "set default" };
const DELETE_EFFECT: Record<string, string> = { c: "deletes the rows pointing at it", n: "clears the references to it" };
const VOLATILITY: Record<string, string> = { i: "immutable", s: "stable", v: "volatile" };

export function columnTypeProblems(snapshot: CatalogSnapshot, fingerprints: Fingerprints): Problem[] {
    return snapshot.columnTypes.map(({ table, name, type, expected: wanted }) => ({
        kind: "column",
        name: `${table}.${name}`,
        issue:
            `is ${type}, not ${wanted} as ${fingerprints.columns?.[table]?.[name]?.migration} creates it, which the application's ` +
            `queries and the stack's functions rely on: alter table public.${table} alter column ${name} type ${wanted} using ${name}::${wanted}`,
    }));
}

/** The named checks and column foreign keys the migrations give `tables` (those present), each missing or deleting otherwise. */
export function constraintProblems(tables: string[], snapshot: CatalogSnapshot, fingerprints: Fingerprints): Found[] {
    const constraints = new Map(snapshot.constraints.map((c) => [`${c.kind} ${c.table}.${c.name}`, c]));
    const problems: Found[] = [];
    for (const { table, name, kind, onDelete, migration } of fingerprints.constraints ?? []) {
        if (!tables.includes(table)) continue;
        const found = constraints.get(`${kind} ${table}.${name}`);
        const wanted = ON_DELETE[onDelete ?? ""] ?? onDelete;
        if (found === undefined) {
            const [column, references] = name.split(" → ");
            const what =
                kind === "check"
                    ? `${table} accepts values outside the rule`
                    : `${table} accepts a ${column} that points at no ${references} row, and deleting a ${references} row ` +
                      `no longer ${DELETE_EFFECT[onDelete ?? ""] ?? `does on delete ${wanted}`}`;
            problems.push({ name: `${table}.${name}`, issue: `missing: ${what}; add it again as ${migration} defines it` });
        } else if (kind === "foreign key" && found.onDelete !== onDelete) {
            problems.push({
                name: `${table}.${name}`,
                issue:
                    `on delete ${ON_DELETE[found.onDelete ?? ""] ?? found.onDelete}, where ${migration} says on delete ${wanted}: ` +
                    "drop it and add it again as that file defines it",
            });
        } else if (
            kind === "check" &&
            snapshot.serverMajor === 15 &&
            CHECK_RULES_PG15[name] !== undefined &&
            found.rule !== CHECK_RULES_PG15[name]
        ) {
            problems.push({
                name: `${table}.${name}`,
                issue: `is ${found.rule}, where ${migration} defines ${CHECK_RULES_PG15[name]}: drop it and add it again as that file defines it`,
            });
        } else if (found.validated === false) {
            problems.push({
                name: `${table}.${name}`,
                issue: `is not valid (added with not valid), so rows written before it may break it: alter table public.${table} validate constraint ${found.conname}`,
            });
        }
    }
    return problems;
}

/** An immutable call is folded into the plan, which a cached plan replays: a user id read once would serve every later user. */
export function volatilityIssue(
    signature: string,
    found: CatalogSnapshot["functions"][number],
    fingerprint: FunctionFingerprint | undefined,
): string | undefined {
    if (fingerprint?.volatility === undefined || found.volatility === fingerprint.volatility) {
        return undefined;
    }
    const [is, wanted] = [found.volatility, fingerprint.volatility].map((v) => VOLATILITY[v] ?? v);
    const why = found.volatility === "i" ? " (PostgreSQL folds an immutable call into the plan, and a cached plan replays that value)" : "";
    return `is ${is}, ${fingerprint.migration} declares it ${wanted}${why}: alter function ${signature.slice(0, signature.indexOf("("))} ${wanted}`;
}

/** What is wrong with a trigger that exists, or undefined when it fires as its migration defines it. */
export function triggerIssue(found: CatalogSnapshot["triggers"][number], definition: TriggerDefinition | undefined): string | undefined {
    const enable = `alter table public.${found.table} enable trigger ${found.name}`;
    if (found.firing === "D") {
        return `disabled: ${enable}`;
    }
    if (found.firing === "R") {
        return `fires only in sessions with session_replication_role = replica, so never for the application's writes: ${enable}`;
    }
    if (definition === undefined) {
        return undefined;
    }
    const columns = definition.columns ?? [];
    const differences = [
        found.tgtype !== definition.tgtype ? "fires at another time or for other events" : "",
        found.when !== (definition.when ?? false)
            ? found.when
                ? "fires only when a `when (...)` condition holds"
                : "lost its `when (...)` condition"
            : "",
        found.columns.join(",") !== columns.join(",")
            ? found.columns.length > 0
                ? `fires only for updates of column(s) ${found.columns.join(", ")}`
                : "fires for updates of every column"
            : "",
        found.function !== definition.function ? `runs ${found.function}` : "",
    ].filter((difference) => difference !== "");
    return differences.length === 0
        ? undefined
        : `${differences.join(", ")}, not as ${definition.migration} defines it: drop it and create it again as that file does`;
}

/**
 * Permissive policies add up: one more for the app role, whatever it says, can only widen what the stack's
 * own policies let it read or change. A restrictive one, or one for another role, narrows or is not ours to judge.
 */
export function widenedPolicies(expected: Pick<Expectations, "manifest" | "appRole">, snapshot: CatalogSnapshot): Found[] {
    const { manifest, appRole } = expected;
    const stack = new Set(manifest.policies.map((p) => `${p.table}.${p.name}`));
    return snapshot.policies
        .filter(({ table, name, widens }) => widens && manifest.rlsTables.includes(table) && !stack.has(`${table}.${name}`))
        .map(({ table, name }) => ({
            name: `${table}.${name}`,
            issue:
                `is not the stack's and is permissive for ${appRole}: permissive policies add up, so through it ${appRole} ` +
                `may read or change other users' rows that ${table}'s own policies hide (a delete or update without a where clause ` +
                `reaches them all). Drop it, or create it again \`as restrictive\` if it is meant to narrow what ${appRole} sees`,
        }));
}
