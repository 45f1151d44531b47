// libpq's rule for sslrootcert (fe-secure-openssl.c): a CA file that exists is read, and the server's certificate is
// checked against it in every sslmode that encrypts; one that does not exist is passed over, except by verify-ca and
// verify-full, which cannot go on without it. A file that exists and cannot be read fails in every mode.
import { readFileSync, statSync } from "node:fs";

/** The CA text for `path` under `sslMode`; undefined where libpq goes on without one. Throws fs's error otherwise. */
export function rootCertificate(path: string | undefined, sslMode: string | undefined): string | undefined {
    if (path === undefined) {
        return undefined;
    }
    return rootCertificateSkipped(path, sslMode) ? undefined : readFileSync(path, "utf8");
}

/** Whether libpq goes on without the CA file `path` under `sslMode` (a mode it does not know yet counts as not verifying). */
export function rootCertificateSkipped(path: string, sslMode: string | undefined): boolean {
    return sslMode !== "verify-ca" && sslMode !== "verify-full" && !exists(path);
}

// As libpq asks: a path stat() fails on (missing, or under a file or a directory it may not search) counts as no file.
function exists(path: string): boolean {
    try {
        statSync(path);
        return true;
    } catch {
        return false;
    }
}
