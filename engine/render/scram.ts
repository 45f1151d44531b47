// A role's password as the SCRAM-SHA-256 verifier PostgreSQL itself would store for it
// (SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>, RFC 5802/7677). Given to CREATE or
// ALTER ROLE … PASSWORD, PostgreSQL stores it as it is, and the role logs in with the password; the
// statement text then holds no password for a server log line or pg_stat_statements to keep.
import { createHash, createHmac, pbkdf2Sync } from "node:crypto";

/** PostgreSQL's default scram_iterations. */
const ITERATIONS = 4096;

export function scramVerifier(password: string, salt: Buffer): string {
    // SASLprep leaves printable ASCII as it is; other characters it may change, and then the verifier would not match.
    if (!/^[\x20-\x7e]+$/.test(password)) {
        throw new Error("a SCRAM verifier is derived here only from a printable ASCII password");
    }
    if (salt.length < 16) {
        throw new Error("a SCRAM salt needs at least 16 bytes");
    }
    const salted = pbkdf2Sync(password, salt, ITERATIONS, 32, "sha256");
    const clientKey = createHmac("sha256", salted).update("Client Key").digest();
    const storedKey = createHash("sha256").update(clientKey).digest();
    const serverKey = createHmac("sha256", salted).update("Server Key").digest();
    return `SCRAM-SHA-256$${ITERATIONS}:${salt.toString("base64")}$${storedKey.toString("base64")}:${serverKey.toString("base64")}`;
}
