// The catalog comparison and the report, without a database: a snapshot built from the
// expectations passes; each change to it is reported by kind and name.
import { describe, expect, it } from "vitest";
import { compareCatalog, type CatalogSnapshot } from "../../engine/verify/catalog";
import { CHECK_RULES_PG15 } from "../../engine/verify/check-rules";
import { expectationsFor, functionName, type Expectations } from "../../engine/verify/expected";
import { privilegeExpectations } from "../../engine/verify/privileges";
import { formatReport, type VerificationReport } from "../../engine/verify/report";
import { DEFAULT_OPTIONS, migrationsFor } from "../support/apply-sql";

const expected = await expectationsFor(DEFAULT_OPTIONS, migrationsFor());

/** The input arguments of "f(a int, OUT b int)" or of "f(int4,text)". */
function inputCount(signature: string): number {
    return signature
        .slice(signature.indexOf("(") + 1, -1)
        .split(",")
        .filter((argument) => argument.trim() !== "" && !argument.trim().startsWith("OUT ")).length;
}

/** What the catalog of a correctly deployed database holds. */
function deployed(e: Expectations): CatalogSnapshot {
    const { manifest, fingerprints } = e;
    return {
        ledger: true,
        recorded: true,
        extensions: ["plpgsql", ...manifest.extensions],
        relations: [
            ...[...manifest.tables, "users"].map((name) => ({ name, kind: "r", rls: manifest.rlsTables.includes(name), invoker: false })),
            ...manifest.views.map((name) => ({ name, kind: "v", rls: false, invoker: true })),
        ],
        columns: Object.entries(e.columns).flatMap(([table, names]) => names.map((name) => ({ table, name }))),
        indexes: manifest.indexes.map((index) => ({ ...index, valid: true })),
        functions: manifest.functions.map((signature) => {
            // The fingerprint of that name and as many input arguments (0014 dropped 0008's three-argument match_goals in a do
            // block, which fingerprints do not read) gives the argument types as the catalog reads them.
            const key = Object.keys(fingerprints.functions).find(
                (name) => functionName(name) === functionName(signature) && inputCount(name) === inputCount(signature),
            );
            const fingerprint = key === undefined ? undefined : fingerprints.functions[key];
            return {
                signature,
                arguments: key === undefined ? "" : key.slice(key.indexOf("(") + 1, -1),
                bodyMd5: fingerprint?.bodyMd5 ?? "unproven",
                securityDefiner: fingerprint?.securityDefiner ?? false,
                volatility: fingerprint?.volatility ?? "v",
            };
        }),
        triggers: manifest.triggers.map(({ table, name }) => ({
            table,
            name,
            tgtype: fingerprints.triggers[name].tgtype,
            firing: "O",
            when: false,
            columns: [],
            function: fingerprints.triggers[name].function,
        })),
        // The stack's own policies for the app role widen nothing beyond themselves: only others are judged.
        policies: manifest.policies.map((policy) => ({ ...policy, widens: policy.name.endsWith("_own_rows") })),
        usersInsertable: true,
        unrestricted: [],
        replicationRole: "origin",
        columnTypes: [],
        constraints: (fingerprints.constraints ?? []).map(({ table, name, kind, onDelete }) => ({
            table,
            name,
            kind,
            onDelete: onDelete ?? null,
            rule: kind === "check" ? CHECK_RULES_PG15[name] : null,
            validated: true,
            conname: kind === "check" ? name : `${table}_${name.split(" → ")[0]}_fkey`,
        })),
        serverMajor: 15,
        // Every privilege the list gives, none it forbids; the verifier (the owner) may SET ROLE to both roles.
        privileges: privilegeExpectations(e).map((item) => item.needed),
        database: "ybryx",
        verifier: "postgres",
        owner: "postgres",
        roles: [e.appRole, e.adminRole].map((name) => ({
            name,
            exists: true,
            superuser: false,
            bypassRls: false,
            createRole: false,
            verifierMember: true,
            memberOf: [],
            creates: [],
        })),
    };
}

/** Sets what the catalog says about `role`'s privilege on `object`. */
function holds(snapshot: CatalogSnapshot, role: string, privilege: string, object: string, held: boolean | null): void {
    const index = privilegeExpectations(expected).findIndex(
        ({ check }) => check.role === role && check.privilege === privilege && check.object === object,
    );
    expect(index).toBeGreaterThanOrEqual(0);
    snapshot.privileges[index] = held;
}

const problemsOf = (change: (snapshot: CatalogSnapshot) => void) => {
    const snapshot = deployed(expected);
    change(snapshot);
    return compareCatalog(expected, snapshot).problems.map((p) => `${p.kind} ${p.name}: ${p.issue}`);
};

describe("compareCatalog", () => {
    it("quotes the database in the statement that resets a replica session_replication_role", () => {
        const problems = problemsOf((s) => {
            s.database = "My-App";
            s.replicationRole = "replica";
        });
        expect(problems.find((p) => p.startsWith("trigger triggers and foreign keys"))).toContain(
            'alter database "My-App" reset session_replication_role',
        );
    });

    it("finds nothing wrong with a correctly deployed catalog and counts every kind", () => {
        const { problems, counts } = compareCatalog(expected, deployed(expected));

        expect(problems).toEqual([]);
        expect(counts).toEqual({
            extensions: 1,
            tables: 7,
            columns: 102,
            views: 3,
            functions: 4,
            otherFunctions: 12,
            triggers: 4,
            otherTriggers: 2,
            indexes: 49,
            policies: 14,
            rlsTables: 7,
        });
    });

    it("names a missing index, view, policy, extension and column", () => {
        expect(
            problemsOf((s) => {
                s.indexes = s.indexes.filter((i) => i.name !== "idx_memory_logs_tags");
                s.relations = s.relations.filter((r) => r.name !== "memory_operation_summary");
                s.policies = s.policies.filter((p) => p.name !== "audit_logs_admin_all");
                s.extensions = s.extensions.filter((x) => x !== "uuid-ossp");
                s.columns = s.columns.filter((c) => !(c.table === "users" && c.name === "memory_enabled"));
            }),
        ).toEqual([
            "extension uuid-ossp: missing",
            "view memory_operation_summary: missing",
            "column users.memory_enabled: missing",
            "index memory_logs.idx_memory_logs_tags: missing",
            "policy audit_logs.audit_logs_admin_all: missing",
        ]);
    });

    it("names a function with another body or another security, and a trigger disabled, rewired or gone", () => {
        expect(
            problemsOf((s) => {
                s.functions.find((f) => f.signature.startsWith("public.close_session("))!.bodyMd5 = "0".repeat(32);
                s.functions.find((f) => f.signature.startsWith("public.forget_user("))!.securityDefiner = true;
                s.functions.find((f) => f.signature.startsWith("memory_stack.request_user_id("))!.volatility = "i";
                s.triggers[0].firing = "D";
                s.triggers[1].function = "public.something_else";
                s.triggers.pop();
            }),
        ).toEqual([
            "function public.close_session(session_id uuid, status text): body differs from the one in 0005_functions_triggers.sql",
            "function public.forget_user(target_user_id uuid): is security definer, 0007_maintenance.sql says otherwise",
            "function memory_stack.request_user_id(): is immutable, 0011_claim_binding.sql declares it stable (PostgreSQL folds an immutable call into the plan, and a cached plan replays that value): alter function memory_stack.request_user_id stable",
            "trigger sessions.update_sessions_updated_at: disabled: alter table public.sessions enable trigger update_sessions_updated_at",
            "trigger goal_assessments.update_goal_assessments_updated_at: runs public.something_else, not as 0005_functions_triggers.sql defines it: drop it and create it again as that file does",
            "trigger belief_graphs.update_belief_vector_derived: missing",
        ]);
    });

    it("reads functions keyed by name alone, as state written before overloads were told apart holds them", () => {
        const byName = Object.fromEntries(Object.entries(expected.fingerprints.functions).map(([key, f]) => [functionName(key), f]));
        const older = { ...expected, fingerprints: { ...expected.fingerprints, functions: byName } };
        const snapshot = deployed(expected);
        snapshot.functions.find((f) => f.signature.startsWith("public.close_session("))!.bodyMd5 = "0".repeat(32);

        expect(compareCatalog(older, snapshot).problems.map((p) => `${p.kind} ${p.name}: ${p.issue}`)).toEqual([
            "function public.close_session(session_id uuid, status text): body differs from the one in 0005_functions_triggers.sql",
        ]);
    });

    it("names a trigger firing for replication only, under a condition or for some columns, a view reading as its owner, a column of another type, a missing or changed constraint and a policy widening the app role's rows", () => {
        expect(
            problemsOf((s) => {
                const trigger = (name: string) => s.triggers.find((t) => t.name === name)!;
                trigger("update_goal_vector_derived").firing = "R";
                trigger("update_belief_vector_derived").when = true;
                trigger("update_sessions_updated_at").columns = ["status"];
                trigger("calculate_agent_execution_duration").firing = "A";
                s.relations.find((r) => r.name === "memory_operation_summary")!.invoker = false;
                s.columnTypes.push({ table: "sessions", name: "context", type: "json", expected: "jsonb" });
                s.constraints = s.constraints.filter(
                    (c) => c.table !== "sessions" || !["sessions_status_check", "user_id → users"].includes(c.name),
                );
                s.constraints.find((c) => c.table === "agent_executions" && c.name === "session_id → sessions")!.onDelete = "a";
                s.policies.push(
                    { table: "memory_logs", name: "cleanup", widens: true },
                    { table: "memory_logs", name: "narrower", widens: false },
                    { table: "users", name: "application_own", widens: true },
                );
            }),
        ).toEqual([
            "view memory_operation_summary: reads its tables as its owner (security_invoker is off), so row level security does not apply through it and whoever may select it sees every user's rows: alter view public.memory_operation_summary set (security_invoker = true)",
            "column sessions.context: is json, not jsonb as 0003_tables.sql creates it, which the application's queries and the stack's functions rely on: alter table public.sessions alter column context type jsonb using context::jsonb",
            "constraint sessions.user_id → users: missing: sessions accepts a user_id that points at no users row, and deleting a users row no longer deletes the rows pointing at it; add it again as 0003_tables.sql defines it",
            "constraint sessions.sessions_status_check: missing: sessions accepts values outside the rule; add it again as 0003_tables.sql defines it",
            "constraint agent_executions.session_id → sessions: on delete no action, where 0003_tables.sql says on delete cascade: drop it and add it again as that file defines it",
            "trigger sessions.update_sessions_updated_at: fires only for updates of column(s) status, not as 0005_functions_triggers.sql defines it: drop it and create it again as that file does",
            "trigger goal_assessments.update_goal_vector_derived: fires only in sessions with session_replication_role = replica, so never for the application's writes: alter table public.goal_assessments enable trigger update_goal_vector_derived",
            "trigger belief_graphs.update_belief_vector_derived: fires only when a `when (...)` condition holds, not as 0013_similarity_derived.sql defines it: drop it and create it again as that file does",
            expect.stringMatching(
                /^policy memory_logs\.cleanup: is not the stack's and is permissive for memory_app_\w+: permissive policies add up/,
            ),
        ]);
    });

    it("names a table turned into a view, RLS turned off and an invalid index", () => {
        expect(
            problemsOf((s) => {
                s.relations.find((r) => r.name === "cognitive_metrics")!.kind = "v";
                s.relations.find((r) => r.name === "sessions")!.rls = false;
                s.indexes.find((i) => i.name === "sessions_pkey")!.valid = false;
            }),
        ).toEqual([
            "table cognitive_metrics: is a view, not a table",
            "index sessions.sessions_pkey: invalid (a failed concurrent build?); reindex it",
            "rls sessions: row level security is disabled; alter table ... enable row level security",
        ]);
    });

    // attack31: a check added again under its name with another rule, or not valid, passed; compared as PostgreSQL 15
    // prints it, and on another major only its existence and validity.
    it("names a check of another rule and a constraint added not valid, and compares rules on PostgreSQL 15 only", () => {
        const change = (s: CatalogSnapshot) => {
            s.constraints.find((c) => c.name === "goal_assessments_status_check")!.rule = "CHECK (true)";
            s.constraints.find((c) => c.name === "memory_logs_latency_ms_check")!.validated = false;
            s.constraints.find((c) => c.table === "memory_logs" && c.name === "user_id → users")!.validated = false;
        };
        expect(problemsOf(change)).toEqual([
            "constraint memory_logs.user_id → users: is not valid (added with not valid), so rows written before it may break it: alter table public.memory_logs validate constraint memory_logs_user_id_fkey",
            "constraint memory_logs.memory_logs_latency_ms_check: is not valid (added with not valid), so rows written before it may break it: alter table public.memory_logs validate constraint memory_logs_latency_ms_check",
            `constraint goal_assessments.goal_assessments_status_check: is CHECK (true), where 0003_tables.sql defines ${CHECK_RULES_PG15.goal_assessments_status_check}: drop it and add it again as that file defines it`,
        ]);
        expect(
            problemsOf((s) => {
                change(s);
                s.serverMajor = 18;
            }),
        ).toHaveLength(2);
    });

    it("reports a missing table once, not once per column", () => {
        expect(
            problemsOf((s) => {
                s.relations = s.relations.filter((r) => r.name !== "audit_logs");
                s.columns = s.columns.filter((c) => c.table !== "audit_logs");
                s.indexes = s.indexes.filter((i) => i.table !== "audit_logs");
                s.policies = s.policies.filter((p) => p.table !== "audit_logs");
            }).filter((line) => !line.startsWith("index ") && !line.startsWith("policy ")),
        ).toEqual(["table audit_logs: missing"]);
    });
});

describe("compareCatalog on the roles' privileges as deployed", () => {
    const app = expected.appRole;
    const admin = expected.adminRole;

    it("names each grant a role lacks as the statement to run, one per rule, and nothing for an object already missing", () => {
        expect(
            problemsOf((s) => {
                holds(s, app, "SELECT", "sessions", false);
                holds(s, app, "DELETE", "sessions", false);
                holds(s, app, "EXECUTE", "match_goals", false);
                holds(s, admin, "UPDATE", "users", false);
                holds(s, admin, "SELECT", "belief_graphs", null);
            }),
        ).toEqual([
            `privilege ${app}: cannot use the memory schema yet: it lacks 2 grant(s); run ` +
                `grant select, delete on table "public"."belief_graphs", "public"."goal_assessments", "public"."agent_executions", "public"."sessions" to "${app}"; ` +
                `grant execute on function "public"."get_active_session", "public"."close_session", "public"."match_goals", "public"."match_beliefs" to "${app}"`,
            `privilege ${admin}: cannot use the memory schema yet: it lacks 1 grant(s); run ` +
                `grant update ("memory_preferences", "memory_enabled", "last_memory_activity_at") on table "public"."users" to "${admin}"`,
        ]);
    });

    it("names a table the app role may truncate, and a maintenance function it may run", () => {
        expect(
            problemsOf((s) => {
                holds(s, app, "TRUNCATE", "memory_logs", true);
                holds(s, app, "TRIGGER", "sessions", true);
            }),
        ).toEqual([
            `privilege ${app}: holds what row level security cannot restrict or only the admin role or a plainClaimLogins login may use (TRUNCATE on public.memory_logs, TRIGGER on public.sessions): revoke them from public and ${app}`,
        ]);
    });

    it("names a maintenance function the app role may run", () => {
        expect(problemsOf((s) => holds(s, app, "EXECUTE", "forget_user", true))).toEqual([
            `privilege ${app}: holds what row level security cannot restrict or only the admin role or a plainClaimLogins login may use (EXECUTE on public.forget_user): revoke them from public and ${app}`,
        ]);
    });

    it("names the plain-claim switch held by the app role, which would let a session-level id count for the next client", () => {
        expect(problemsOf((s) => holds(s, app, "EXECUTE", "trust_plain_claims", true))).toEqual([
            `privilege ${app}: holds what row level security cannot restrict or only the admin role or a plainClaimLogins login may use (EXECUTE on memory_stack.trust_plain_claims): revoke them from public and ${app}`,
        ]);
    });

    it("names a missing role, a way out of row level security, and a role the verifier cannot become", () => {
        expect(
            problemsOf((s) => {
                s.roles[0] = { ...s.roles[0], bypassRls: true, memberOf: ["postgres", admin] };
                s.roles[1] = { ...s.roles[1], exists: false };
            }),
        ).toEqual([
            `role ${app}: has BYPASSRLS: row level security does not apply to it; can SET ROLE to postgres, ${admin}, which sees other users' rows: revoke postgres from ${app}; revoke ${admin} from ${app}`,
            `role ${admin}: missing; the schema's policies name it (create it, or let \`pulumi up\` or the schema create it)`,
        ]);
        expect(problemsOf((s) => (s.roles[1] = { ...s.roles[1], verifierMember: false }))).toEqual([
            `role ${admin}: postgres, which verifies, is not a member of it, so row level security cannot be checked as ${admin}: grant ${admin} to postgres`,
        ]);
    });

    it("names the schemas the app role may create objects in, where it could plant what the owner runs; not the admin role's (Supabase's service_role has it)", () => {
        expect(
            problemsOf((s) => {
                s.roles[0] = {
                    ...s.roles[0],
                    creates: [
                        { schema: "public", viaPublic: true },
                        { schema: "memory_stack", viaPublic: false },
                    ],
                };
                s.roles[1] = { ...s.roles[1], creates: [{ schema: "public", viaPublic: false }] };
            }),
        ).toEqual([
            `privilege ${app}: can create objects in schema public, memory_stack: a function or operator it creates there can take the place of ` +
                `one that the owner (migrating, verifying) or the admin role calls, and run with that role's rights (PUBLIC keeps CREATE on ` +
                `public in databases from before PostgreSQL 15); run revoke create on schema "public" from public; ` +
                `revoke create on schema "memory_stack" from "${app}"`,
        ]);
    });

    it("lets the admin role be a member of the app role", () => {
        expect(problemsOf((s) => (s.roles[1] = { ...s.roles[1], memberOf: [app] }))).toEqual([]);
    });

    it("marks the role and its privileges broken, so the checks as that role are skipped, not failed twice", () => {
        const snapshot = deployed(expected);
        holds(snapshot, app, "INSERT", "memory_logs", false);
        snapshot.roles[1] = { ...snapshot.roles[1], verifierMember: false };
        const { broken } = compareCatalog(expected, snapshot);
        expect([...broken].filter((item) => /^(role|privileges) /.test(item)).sort()).toEqual([`privileges ${app}`, `role ${admin}`]);
    });
});

describe("formatReport", () => {
    const report = (changes: Partial<VerificationReport>): VerificationReport => ({
        ok: true,
        variant: "jsonb",
        applied: true,
        problems: [],
        skipped: [],
        checksPassed: 16,
        durationMs: 42,
        checkedAt: "2026-01-01T00:00:00.000Z",
        roundTrips: { catalog: 1, functional: 80 },
        counts: compareCatalog(expected, deployed(expected)).counts,
        ...changes,
    });

    it("sums up a pass in one line with the seed's counts", () => {
        expect(formatReport(report({}))).toBe(
            "memory schema verified (jsonb): 7 tables, 3 views, 4 seed functions (+12 more), " +
                "4 seed triggers (+2 more), 49 indexes, 14 policies, 16 behaviour checks passed in 42 ms",
        );
    });

    it("lists every problem, the checks not run, and what to do", () => {
        const text = formatReport(
            report({
                ok: false,
                problems: [
                    { kind: "index", name: "sessions.idx_sessions_status", issue: "missing" },
                    { kind: "check", name: "a foreign key rejects an orphan", issue: "it succeeded" },
                ],
                skipped: [{ name: "view user_session_stats answers", reason: "needs view user_session_stats, which is missing or broken" }],
            }),
        );

        expect(text.split("\n").slice(0, 4)).toEqual([
            "memory schema verification failed (jsonb): 2 problem(s)",
            "  - index sessions.idx_sessions_status: missing",
            "  - check failed: a foreign key rejects an orphan: it succeeded",
            "  not run, because what they exercise is broken above: view user_session_stats answers",
        ]);
        expect(text).toContain("What to do: the database no longer matches the migrations");
        expect(text).toContain("without Pulumi: `memory-stack apply --repair`");
    });

    it("says the roles cannot use the schema yet, and how to fix it, when only their access is wrong", () => {
        const text = formatReport(report({ ok: false, problems: [{ kind: "privilege", name: "memory_app", issue: "lacks ..." }] }));
        expect(text).toContain("What to do about the roles: the schema is in place, but the roles listed cannot use it");
        expect(text).toContain("`memory-stack apply`");
        expect(text).not.toContain("no longer matches the migrations");
    });

    // From attack24: an apply stopped after 0001 was told "the schema is in place" and to grant on tables not created yet.
    it("does not send the roles' grants ahead of the migrations still pending", () => {
        const problems = [
            { kind: "table" as const, name: "sessions", issue: "missing" },
            {
                kind: "privilege" as const,
                name: "memory_app",
                issue: "lacks 1 grant(s); run grant select on table public.sessions to memory_app",
            },
        ];
        const text = formatReport(report({ ok: false, problems }), ["0002_users.sql", "0003_tables.sql"]);
        expect(text).not.toContain("What to do about the roles");
        expect(text.split("\n").at(-1)).toMatch(/^What to do: 2 migrations of this memory-stack are not applied to this database yet/);
    });

    it("tells a database that never had the schema to apply it, first, without listing every missing object", () => {
        const counts = { ...report({}).counts, tables: 0 };
        const problems = ["sessions", "memory_logs", "audit_logs"].map((name) => ({ kind: "table" as const, name, issue: "missing" }));
        const lines = formatReport(report({ ok: false, applied: false, counts, problems })).split("\n");
        expect(lines[1]).toMatch(/^What to do: the memory schema was never applied to this database/);
        expect(lines).toHaveLength(3);
        expect(lines[2]).toBe("  every object of the schema is missing (3 problems; --json lists them)");
    });

    // From attack24: an application's database with its own users and sessions was told its recorded migrations had drifted.
    it("tells a database without the ledger whose tables share the schema's names to apply it, not that it drifted", () => {
        const problems = [
            { kind: "column" as const, name: "sessions.session_id", issue: "missing" },
            { kind: "privilege" as const, name: "memory_app", issue: "lacks 1 grant(s)" },
        ];
        const lines = formatReport(report({ ok: false, applied: false, problems })).split("\n");
        expect(lines[1]).toMatch(/^What to do: the memory schema was never applied to this database/);
        expect(lines[2]).toBe(
            "  2 problems (--json lists them); some of the schema's names exist here already, not created by memory-stack: " +
                "`memory-stack plan` lists any that would make apply refuse",
        );
        expect(lines).toHaveLength(3);
    });
});
