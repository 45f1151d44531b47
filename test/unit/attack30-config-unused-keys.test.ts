// Keys set where they do nothing were accepted without a word: pooling fields on an external stack (which runs no
// PgBouncer: pooling.enabled defaults to false there, and only an explicit true was refused), maxConnections and
// superuserReservedConnections on an external server (its own), plainClaimLogins with rls off (no claim is read). A user
// who sets one expects its effect: preview fails naming the key, its value and what to do. Defaults, spelt out or not, pass.
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../engine/config/config";

const external = { provisioner: "external", databaseUrl: "postgresql://owner:pw-123456789@db.example.com:5432/app?sslmode=require" };
const refusal = (raw: Record<string, string>): string => {
    try {
        parseConfig(raw);
    } catch (error) {
        return (error as Error).message;
    }
    return "accepted";
};

describe("keys set where they have no effect", () => {
    it("refuses pooling fields on an external stack", () => {
        expect(refusal({ ...external, pooling: '{"mode":"session","hostPort":7000}' })).toBe(
            'memory-stack:pooling.mode is "session"; has no effect with provisioner: external, which runs no PgBouncer (an external ' +
                "server brings its own pooler, Supabase: Supavisor); remove it. Also: memory-stack:pooling.hostPort is 7000; has no " +
                "effect with provisioner: external, which runs no PgBouncer (an external server brings its own pooler, Supabase: Supavisor); remove it.",
        );
        expect(refusal({ ...external, "pooling.defaultPoolSize": "20" })).toContain("--path was missing");
    });

    it("refuses maxConnections and superuserReservedConnections on an external server", () => {
        expect(refusal({ ...external, maxConnections: "100" })).toBe(
            "memory-stack:maxConnections is 100; has no effect with provisioner: external, whose server sets its own; remove it.",
        );
        expect(refusal({ ...external, superuserReservedConnections: "5" })).toContain(
            "memory-stack:superuserReservedConnections is 5; has no effect",
        );
    });

    it("refuses plainClaimLogins with rls off", () => {
        expect(refusal({ rls: "false", plainClaimLogins: '["authenticator"]' })).toBe(
            'memory-stack:plainClaimLogins is ["authenticator"]; has no effect with rls: false (it lets those logins\' claims count for row level security); remove it or set rls: true.',
        );
    });

    it("accepts the defaults, spelt out or not, and the same keys where they act", () => {
        for (const raw of <Record<string, string>[]>[
            external,
            { ...external, pooling: '{"enabled":false,"mode":"transaction"}', maxConnections: "20", plainClaimLogins: '["authenticator"]' },
            { pooling: '{"mode":"session","defaultPoolSize":15,"maxClientConn":250}', maxConnections: "30" },
            { rls: "false", plainClaimLogins: "[]" },
        ]) {
            expect(refusal(raw), JSON.stringify(raw)).toBe("accepted");
        }
    });
});
