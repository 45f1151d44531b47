// The preflight's advice for a setting the database or role puts on every session is SQL to paste: a database or role
// whose name needs quoting (upper case, a hyphen) got `alter role deploy in database My-App …`, which fails.
import { describe, expect, it } from "vitest";
import { sessionConflicts } from "../../engine/migrate/preflight-session";

describe("sessionConflicts' advice", () => {
    it("quotes the role and database it names", () => {
        const [conflict] = sessionConflicts([
            { me: "Deploy", database: "My-App", replication_role: "replica", read_only: "off", standby: false },
        ]);

        expect(conflict.fix).toContain(
            `alter role "Deploy" in database "My-App" set session_replication_role = origin (or reset the database's: alter database "My-App" reset session_replication_role)`,
        );
    });
});
