// The baseline for verification: the usual hand-written verify script, one catalog query per
// expected object (sqitch-style), existence only. It checks the same names as the catalog half of
// the real verification and none of its behaviour checks.
import type { SqlClient } from "../../engine/migrate/index";
import type { Expectations } from "../../engine/verify/index";

export async function naiveVerify(client: SqlClient, expected: Expectations): Promise<{ checks: number; missing: string[] }> {
    const { manifest, columns } = expected;
    const probes: [string, string, unknown[]][] = [
        ...manifest.extensions.map((name): [string, string, unknown[]] => [
            `extension ${name}`,
            "select 1 from pg_extension where extname = $1",
            [name],
        ]),
        ...[...manifest.tables, ...manifest.views].map((name): [string, string, unknown[]] => [
            `relation ${name}`,
            "select 1 where to_regclass($1) is not null",
            [`public.${name}`],
        ]),
        ...Object.entries(columns).flatMap(([table, names]) =>
            names.map((name): [string, string, unknown[]] => [
                `column ${table}.${name}`,
                "select 1 from pg_attribute where attrelid = to_regclass($1) and attname = $2 and not attisdropped",
                [`public.${table}`, name],
            ]),
        ),
        ...manifest.functions.map((signature): [string, string, unknown[]] => [
            `function ${signature}`,
            "select 1 from pg_proc p join pg_namespace n on n.oid = p.pronamespace where n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')' = $1",
            [signature],
        ]),
        ...manifest.triggers.map(({ table, name }): [string, string, unknown[]] => [
            `trigger ${name}`,
            "select 1 from pg_trigger where tgrelid = to_regclass($1) and tgname = $2",
            [`public.${table}`, name],
        ]),
        ...manifest.indexes.map(({ name }): [string, string, unknown[]] => [
            `index ${name}`,
            "select 1 where to_regclass($1) is not null",
            [`public.${name}`],
        ]),
        ...manifest.policies.map(({ table, name }): [string, string, unknown[]] => [
            `policy ${name}`,
            "select 1 from pg_policy where polrelid = to_regclass($1) and polname = $2",
            [`public.${table}`, name],
        ]),
        ...manifest.rlsTables.map((table): [string, string, unknown[]] => [
            `rls on ${table}`,
            "select 1 from pg_class where oid = to_regclass($1) and relrowsecurity",
            [`public.${table}`],
        ]),
    ];
    const missing: string[] = [];
    for (const [what, sql, values] of probes) {
        const result = await client.query(sql, values);
        if (result.rows.length === 0) {
            missing.push(what);
        }
    }
    return { checks: probes.length, missing };
}
