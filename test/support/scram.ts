// SCRAM-SHA-256 verifiers made from a password, as PostgreSQL makes them: for tests that give a role a
// known verifier (alter role ... password '<verifier>') and hand the same one to PgBouncer.
import { createHash, createHmac, pbkdf2Sync, randomBytes } from "node:crypto";

/**
 * A SCRAM-SHA-256 verifier in PostgreSQL's format. PgBouncer can log in to PostgreSQL with a verifier only
 * when it is identical to the role's stored one, so pass the salt and iterations of the verifier PostgreSQL
 * holds (or make PostgreSQL store this one: `alter role ... password '<verifier>'`).
 */
export function scramVerifier(password: string, options: { salt?: Buffer; iterations?: number } = {}): string {
    // Non-ASCII passwords go through SASLprep in PostgreSQL; ASCII is unchanged by it.
    if (!/^[\x20-\x7e]+$/.test(password)) {
        throw new Error("the password must be printable ASCII to derive a verifier here");
    }
    const salt = options.salt ?? randomBytes(16);
    const iterations = options.iterations ?? 4096;
    const salted = pbkdf2Sync(password, salt, iterations, 32, "sha256");
    const clientKey = createHmac("sha256", salted).update("Client Key").digest();
    const storedKey = createHash("sha256").update(clientKey).digest();
    const serverKey = createHmac("sha256", salted).update("Server Key").digest();
    return `SCRAM-SHA-256$${iterations}:${salt.toString("base64")}$${storedKey.toString("base64")}:${serverKey.toString("base64")}`;
}
