// The value types of the stack config, as zod schemas: each reads what Pulumi config holds (strings,
// and JSON text for objects) and fails with a message saying what is allowed. Values that travel on
// into other formats (URLs, .env lines, SQL, pgbouncer.ini, docker) are checked for those formats here.
import { isIP } from "node:net";
import { z } from "zod";
import { wellFormed } from "../db/redact";
import { ImageReferenceError, parseImageReference } from "./image";
import { saslprepChanges } from "./saslprep";

export { ConfigError, NAMESPACE, type RawConfig } from "./error";

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;
// Letters, digits, -, _ and dots: a DNS name or an IPv4 address. No space, /, @, :, = or newline can reach a URL or .env line.
const HOST_NAME = /^[A-Za-z0-9_]([A-Za-z0-9_-]{0,62})(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,62}))*\.?$/;
// C0 and C1 controls, DEL, and the Unicode line and paragraph separators: each ends a line somewhere.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

export const IDENTIFIER_RULE = "must be a lowercase SQL identifier: a letter or _, then letters, digits or _, at most 63 characters";

export function bool() {
    return z.union([z.boolean(), z.enum(["true", "false"]).transform((value) => value === "true")], { error: "must be true or false" });
}

export function int(min: number, max: number) {
    const rule = `must be an integer from ${min} to ${max}`;
    return z
        .union(
            [
                z.number(),
                z
                    .string()
                    .regex(/^\s*-?\d+\s*$/)
                    .transform(Number),
            ],
            { error: rule },
        )
        .pipe(z.number().int({ error: rule }).min(min, { error: rule }).max(max, { error: rule }));
}

export function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
    return z.enum(values, { error: `must be one of ${values.join(", ")}` });
}

export function identifier() {
    return z.string({ error: IDENTIFIER_RULE }).regex(IDENTIFIER, { error: IDENTIFIER_RULE });
}

/** Pulumi config holds a structured value as JSON text: parse it, or fail with the key's rule. */
function parsedJson(rule: string) {
    return (value: unknown, ctx: z.RefinementCtx): unknown => {
        if (typeof value !== "string") {
            return value;
        }
        try {
            return JSON.parse(value) as unknown;
        } catch {
            ctx.addIssue({ code: "custom", message: rule, input: value });
            return z.NEVER;
        }
    };
}

/** A JSON list of SQL identifiers, e.g. ["authenticator"], each once. */
export function identifierList() {
    const rule = 'must be a list of lowercase SQL identifiers, for example ["authenticator"]';
    return z
        .unknown()
        .transform(parsedJson(rule))
        .pipe(
            z
                .array(z.unknown(), { error: rule })
                .refine((items) => items.every((item) => typeof item === "string" && IDENTIFIER.test(item)), { error: rule }),
        )
        .transform((names) => [...new Set(names as string[])]);
}

/** A host name or IP address that a URL, a .env line and pgbouncer.ini can all carry as it is. */
export function hostName() {
    const rule =
        "must be a host name (letters, digits, -, _ and dots) or an IP address (without an IPv6 zone id); no spaces, control characters or URL and .env syntax (/ @ : = # ? %)";
    // An IPv6 zone id (fe80::1%eth0) is an address to node, but no URL carries it as it is.
    return z
        .string({ error: rule })
        .refine((value) => HOST_NAME.test(value) || (isIP(value) !== 0 && !value.includes("%")), { error: rule });
}

/** An IP address docker can publish a port on: IPv4 or IPv6, without a zone id. */
export function ipAddress() {
    const rule = "must be an IP address (IPv4 such as 127.0.0.1 or 0.0.0.0, or IPv6 such as ::1), not a host name";
    return z.string({ error: rule }).refine((value) => isIP(value) !== 0 && !value.includes("%"), { error: rule });
}

/** A password: any printable characters (URLs percent-encode them, the auth file quotes them), no control characters. */
export function password() {
    return z
        .string({ error: "must be a string" })
        .min(8, { error: "must be at least 8 characters; or unset it and a random one is generated" })
        .refine((value) => !CONTROL.test(value) && wellFormed(value), {
            error:
                "must not hold control characters (newline, tab, NUL, ...) or a lone UTF-16 surrogate; every printable character is fine, " +
                "including spaces, quotes, @, #, / and %: memory-stack percent-encodes them in URLs and quotes them in PgBouncer's auth file",
        })
        .refine((value) => !saslprepChanges(value), { error: `holds ${SASLPREP_RULE}` })
        .refine((value) => !PRE_HASHED.test(value), {
            error:
                "looks like a hash (md5 and 32 lower-case hex digits, or SCRAM-SHA-256$…), which PostgreSQL stores as an already hashed " +
                "password: the server would then refuse this very password; choose another, or unset it and a random one is generated",
        });
}

/** Why a password that SASLprep changes is refused (engine/config/saslprep.ts), after "holds". */
export const SASLPREP_RULE =
    "a character that SCRAM's SASLprep rewrites (a ligature such as ﬁ, ™, ½, full-width or superscript forms, a no-break or " +
    "other non-ASCII space, a soft hyphen, a combining accent after its letter): PostgreSQL stores the rewritten form, and " +
    "clients that skip the rewrite (the postgresql provider, JDBC, Go) or that rewrite when the server did not (node-postgres, " +
    "beside an emoji) fail to log in; write those characters in their plain form (TM, fi, a space, é as one character)";

/** What PostgreSQL's ALTER ROLE … PASSWORD takes for a hash rather than a password (get_password_type). */
const PRE_HASHED = /^(md5[0-9a-f]{32}|SCRAM-SHA-256\$.*)$/s;

/** A container image reference, read by Docker's grammar (engine/config/image.ts). */
export function imageName() {
    return z.string({ error: "must be a string" }).superRefine((value, ctx) => {
        try {
            parseImageReference(value);
        } catch (error) {
            if (!(error instanceof ImageReferenceError)) {
                throw error;
            }
            ctx.addIssue({ code: "custom", message: `is not an image reference: it ${error.reason}; for example postgres:15-alpine` });
        }
    });
}

/** An object, given as JSON text by Pulumi config (or as the object itself), with exactly these keys; absent: every default. */
export function jsonObject<Shape extends z.ZodRawShape>(shape: Shape) {
    const rule = `must be an object with keys ${Object.keys(shape).join(", ")}`;
    const object = z.strictObject(shape, {
        error: (issue) => (issue.code === "unrecognized_keys" ? `unknown key; known keys: ${Object.keys(shape).join(", ")}` : rule),
    });
    return z.unknown().transform(parsedJson(rule)).pipe(object).prefault({});
}
