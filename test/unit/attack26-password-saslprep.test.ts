// A password that SCRAM's SASLprep rewrites logs in with some clients and not others (engine/config/saslprep.ts;
// test/integration/attack26-password-saslprep.test.ts shows both failures on a real PostgreSQL 15): config refuses
// it at preview, as the owner's password and in an external server's URL, without echoing it; every other
// printable password, unicode included, stays accepted.
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../engine/config/config";
import { configErrorFor } from "../support/config-errors";

const REWRITTEN = [
    "Passw0rd™-secret", // ™ → TM
    "ﬁnal-password", // ligature → fi
    "pass\u00A0word-secret", // no-break space → space
    "soft\u00ADhyphen-secret", // soft hyphen → nothing
    "e\u0301te-password", // e + combining acute → é
    "ｐａｓｓ１２３４", // full-width → ASCII
    "🔑Passw0rd™", // SASLprep refused by PostgreSQL (emoji), rewritten by node-postgres
];
const KEPT = [
    "café-é🔑-password",
    "пароль-секрет-1",
    "密码密码密码密码",
    `p@ss #%/?&=+ it's "quoted" \\back\\ $HOME \`id\` :x; ~ * !`,
    "abc%41abc%41",
    "x".repeat(120),
];

describe("a password that SASLprep rewrites", () => {
    it.each(REWRITTEN)("is refused as the docker owner's password, not shown: %j", (password) => {
        const error = configErrorFor({ password });
        expect(error.key).toBe("password");
        expect(error.message).toMatch(/SASLprep rewrites/);
        expect(error.message).not.toContain(password);
    });

    it.each(REWRITTEN)("is refused in an external server's URL, not shown: %j", (password) => {
        const error = configErrorFor({
            provisioner: "external",
            databaseUrl: `postgresql://owner:${encodeURIComponent(password)}@db.example.com:5432/ybryx`,
        });
        expect(error.key).toBe("databaseUrl");
        expect(error.message).toMatch(/SASLprep rewrites/);
        expect(error.message).not.toContain(password);
        expect(error.message).not.toContain(encodeURIComponent(password));
    });

    it.each(KEPT)("leaves every other printable password accepted: %j", (password) => {
        expect(parseConfig({ password }).password).toBe(password);
        const url = `postgresql://owner:${encodeURIComponent(password)}@db.example.com:5432/ybryx`;
        expect(parseConfig({ provisioner: "external", databaseUrl: url }).password).toBe(password);
    });
});
