// What "the deployed version" of a function or trigger is, read from the rendered migrations the
// schema resource applied: no second copy of the definitions to keep in step.
//
// A function is proven by md5(pg_proc.prosrc): PostgreSQL stores a dollar-quoted body verbatim, so
// the md5 of the text between the dollar quotes in the migration is exactly what the catalog holds.
// Its security definer flag is compared too (the one header property that changes who the body
// runs as). Only top-level `create [or replace] function` statements count: a function created
// inside a `do` block is conditional (auth.uid() is created only where none exists, and on Supabase
// the real one is used), so it is checked for existence only. The last definition in migration
// order wins and a top-level `drop function` forgets it, as the database does.
//
// A trigger is proven by its table, its firing (timing, events, row or statement, packed like
// pg_trigger.tgtype) and the function it executes, whose body is proven above.
import { createHash } from "node:crypto";
import { splitStatements } from "../migrate/statements";

export interface FunctionFingerprint {
    /** md5 hex of the body between the dollar quotes, as md5(pg_proc.prosrc) prints it. */
    bodyMd5: string;
    securityDefiner: boolean;
    /** The migration file that defines it last. */
    migration: string;
}

export interface TriggerDefinition {
    /** Unqualified table name (schema public). */
    table: string;
    /** pg_trigger.tgtype: row 1, before 2, insert 4, delete 8, update 16, truncate 32, instead of 64. */
    tgtype: number;
    /** Qualified name of the trigger function, e.g. "public.update_updated_at_column". */
    function: string;
    migration: string;
}

export interface Fingerprints {
    /** Keyed by qualified function name, e.g. "public.close_session". */
    functions: Record<string, FunctionFingerprint>;
    /** Keyed by trigger name. */
    triggers: Record<string, TriggerDefinition>;
}

const NAME = String.raw`((?:"[^"]+"|[\w$]+)(?:\s*\.\s*(?:"[^"]+"|[\w$]+))?)`;
const CREATE_FUNCTION = new RegExp(String.raw`^create\s+(?:or\s+replace\s+)?function\s+${NAME}\s*\(`, "i");
const DROP_FUNCTION = new RegExp(String.raw`^drop\s+function\s+(?:if\s+exists\s+)?${NAME}`, "i");
const CREATE_TRIGGER = new RegExp(String.raw`^create\s+(?:or\s+replace\s+)?trigger\s+${NAME}\s+(before|after|instead\s+of)\s+(.+?)\s+on\s+${NAME}`
    + String.raw`[\s\S]*?\bfor\s+(?:each\s+)?(row|statement)\b[\s\S]*?\bexecute\s+(?:function|procedure)\s+${NAME}\s*\(`, "i");
const DROP_TRIGGER = new RegExp(String.raw`^drop\s+trigger\s+(?:if\s+exists\s+)?${NAME}`, "i");
const EVENT_BITS: Record<string, number> = { insert: 4, delete: 8, update: 16, truncate: 32 };

export function fingerprintMigrations(migrations: readonly { name: string; sql: string }[]): Fingerprints {
    const result: Fingerprints = { functions: {}, triggers: {} };
    for (const migration of migrations) {
        for (const { text } of splitStatements(migration.sql)) {
            let match: RegExpExecArray | null;
            if ((match = CREATE_FUNCTION.exec(text))) {
                const fingerprint = functionFingerprint(text, match[0].length, migration.name);
                if (fingerprint) {
                    result.functions[qualify(match[1])] = fingerprint;
                }
            } else if ((match = DROP_FUNCTION.exec(text))) {
                delete result.functions[qualify(match[1])];
            } else if ((match = CREATE_TRIGGER.exec(text))) {
                const [, name, timing, events, table, level, fn] = match;
                result.triggers[unquote(name)] = {
                    table: qualify(table).replace(/^public\./, ""),
                    tgtype: tgtype(timing, events, level),
                    function: qualify(fn),
                    migration: migration.name,
                };
            } else if ((match = DROP_TRIGGER.exec(text))) {
                delete result.triggers[unquote(match[1])];
            }
        }
    }
    return result;
}

/** The body after `as $tag$`, outside the argument list; undefined for a body given any other way. */
function functionFingerprint(text: string, argsStart: number, migration: string): FunctionFingerprint | undefined {
    const header = text.slice(argsStart - 1);
    const body = /\bas\s+(\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$)/i.exec(header);
    if (!body) {
        return undefined;
    }
    const open = body.index + body[0].length;
    const close = header.indexOf(body[1], open);
    if (close < 0) {
        return undefined;
    }
    const attributes = header.slice(0, body.index) + header.slice(close + body[1].length);
    return {
        bodyMd5: createHash("md5").update(header.slice(open, close), "utf8").digest("hex"),
        securityDefiner: /\bsecurity\s+definer\b/i.test(attributes),
        migration,
    };
}

function tgtype(timing: string, events: string, level: string): number {
    let bits = level.toLowerCase() === "row" ? 1 : 0;
    const when = timing.toLowerCase().replace(/\s+/g, " ");
    bits |= when === "before" ? 2 : when === "instead of" ? 64 : 0;
    for (const event of events.toLowerCase().split(/\s+or\s+/)) {
        bits |= EVENT_BITS[event.trim().split(/\s+/)[0]] ?? 0;
    }
    return bits;
}

/** "schema.name" with quotes removed; an unqualified name is in public. */
function qualify(name: string): string {
    const parts = name.split(/\s*\.\s*/).map(unquote);
    return parts.length === 1 ? `public.${parts[0]}` : parts.join(".");
}

function unquote(identifier: string): string {
    return identifier.startsWith('"') ? identifier.slice(1, -1).replace(/""/g, '"') : identifier.toLowerCase();
}
