// libpq 16 reads sslrootcert=system as the system's CA store, and decodes a URL's query value before it compares it:
// sslrootcert=%73ystem is the store too. memory-stack refused only the plain spelling and read the encoded one as a file
// named "system" in the working directory ("names an SSL file that cannot be read (ENOENT)", or that file's CA) (attack31).
import { describe, expect, it } from "vitest";
import { ConnectionUrlError, parseConnectionUrl } from "../../engine/db/url";

const MARKER = "Mk7secretpw";

describe("sslrootcert=system percent-encoded", () => {
    it.each([
        `postgresql://u:${MARKER}@h/d?sslmode=verify-full&sslrootcert=%73ystem`,
        `postgresql://u:${MARKER}@h/d?sslrootcert=syst%65m&sslmode=verify-ca`,
    ])("%s is refused as sslrootcert=system, with the ways that work", (url) => {
        let error: unknown;
        try {
            parseConnectionUrl(url);
        } catch (caught) {
            error = caught;
        }
        expect(error).toBeInstanceOf(ConnectionUrlError);
        expect((error as ConnectionUrlError).message).toMatch(/has sslrootcert=system; .*name the CA file .*sslmode=verify-full/);
        expect((error as ConnectionUrlError).shown).not.toContain(MARKER);
    });
});
