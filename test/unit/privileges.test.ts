import { describe, expect, it } from "vitest";
import {
    APP_FUNCTIONS,
    MAINTENANCE_FUNCTIONS,
    PRIVILEGE_RULES,
    SEARCH_HELPER_FUNCTIONS,
    TRIGGER_FUNCTIONS,
    privilegeRules,
} from "../../engine/render/privileges";
import { renderGrants, renderRevokes } from "../../engine/render/grants";
import { expectedObjects, MEMORY_TABLES, VIEWS } from "../../engine/migrate/manifest";
import { DEFAULT_OPTIONS } from "../support/apply-sql";

const target = { database: "ybryx", roles: { app: "memory_app", admin: "memory_admin" } };
const rule = (key: string) => PRIVILEGE_RULES.find((r) => r.key === key)!;

describe("the privilege list", () => {
    it("names every grant uniquely", () => {
        const keys = PRIVILEGE_RULES.map((r) => r.key);
        expect(new Set(keys).size).toBe(keys.length);
    });

    it("accounts for every public function of the schema, in both variants", () => {
        for (const vector of [false, true]) {
            const publicFunctions = expectedObjects({ ...DEFAULT_OPTIONS, vector })
                .functions.filter((f) => f.startsWith("public."))
                .map((f) => f.slice("public.".length, f.indexOf("(")));
            const listed = [...APP_FUNCTIONS, ...MAINTENANCE_FUNCTIONS, ...TRIGGER_FUNCTIONS, ...SEARCH_HELPER_FUNCTIONS];
            expect(listed).toEqual(expect.arrayContaining(publicFunctions));
            const jsonbOnly = vector ? ["derive_embedding_columns", "embedding_derived"] : [];
            expect(listed.filter((f) => !jsonbOnly.includes(f)).sort()).toEqual(publicFunctions.sort());
        }
    });

    it("lets the admin role read every memory table and view, and the app role no audit row", () => {
        expect([...rule("admin-tables").objects].sort()).toEqual([...MEMORY_TABLES].sort());
        expect([...rule("admin-views").objects].sort()).toEqual([...VIEWS].sort());
        const appReads = PRIVILEGE_RULES.filter((r) => r.grantee === "app" && r.privileges.includes("SELECT")).flatMap((r) => r.objects);
        expect(appReads).not.toContain("audit_logs");
        expect(appReads).not.toContain("users");
        expect(rule("app-audit-insert").privileges).toEqual(["INSERT"]);
    });

    it("gives the app role every memory table it writes and nothing that changes the schema", () => {
        const appTables = PRIVILEGE_RULES.filter((r) => r.grantee === "app" && r.objectType === "table").flatMap((r) => r.objects);
        expect(appTables).toEqual(expect.arrayContaining([...MEMORY_TABLES]));
        const everything = PRIVILEGE_RULES.flatMap((r) => r.privileges);
        for (const never of ["TRUNCATE", "REFERENCES", "TRIGGER", "CREATE", "ALL"]) {
            expect(everything).not.toContain(never);
        }
    });

    it("leaves the database, schema public and users alone when the roles are not the stack's", () => {
        const keys = privilegeRules({ rolesCreated: false }).map((r) => r.key);
        for (const shared of ["app-connect", "app-schema", "admin-connect", "admin-schema", "admin-users", "admin-users-memory-columns"]) {
            expect(keys).not.toContain(shared);
        }
        expect(keys).toContain("app-tables");
        expect(privilegeRules({ rolesCreated: true })).toHaveLength(PRIVILEGE_RULES.length);
    });
});

describe("renderGrants and renderRevokes", () => {
    it("render the rules as the provider runs them, in lowercase SQL with quoted identifiers", () => {
        const [connect, , tables] = renderGrants(PRIVILEGE_RULES, target);
        expect(connect).toBe('grant connect on database "ybryx" to "memory_app"');
        expect(tables).toBe(
            'grant select, insert, update, delete on table "public"."belief_graphs", "public"."goal_assessments", "public"."agent_executions", "public"."sessions" to "memory_app"',
        );
        expect(renderGrants([rule("admin-users-memory-columns")], target)).toEqual([
            'grant update ("memory_preferences", "memory_enabled", "last_memory_activity_at") on table "public"."users" to "memory_admin"',
        ]);
        expect(renderGrants([rule("app-functions")], target)).toEqual([
            'grant execute on function "public"."get_active_session", "public"."close_session", "public"."match_goals", "public"."match_beliefs" to "memory_app"',
        ]);
    });

    it("take back exactly what was granted", () => {
        expect(renderRevokes([rule("app-schema")], target)).toEqual(['revoke usage on schema "public" from "memory_app"']);
        expect(renderRevokes(PRIVILEGE_RULES, target)).toHaveLength(PRIVILEGE_RULES.length);
    });

    it("quote a role name that needs it", () => {
        expect(renderGrants([rule("app-schema")], { ...target, roles: { ...target.roles, app: 'we"ird' } })).toEqual([
            'grant usage on schema "public" to "we""ird"',
        ]);
    });
});
