// Container image references, parsed by the grammar Docker itself uses (distribution/reference:
// `[registry/]path[:tag][@digest]`), and the PostgreSQL major version an image's tag names.
// Written here rather than taken from npm: the parser there (a port of that grammar) backtracks
// exponentially on a long invalid name, and the others split strings without validating them.
// Each pattern below is anchored and never nests two quantifiers over the same characters.
import { ConfigError } from "./error";

export interface ImageReference {
    /** The registry host (and port) when the reference names one: `ghcr.io`, `localhost:5000`. */
    registry: string | undefined;
    /** The repository path under the registry: `postgres`, `pgvector/pgvector`, `library/postgres`. */
    repository: string;
    tag: string | undefined;
    /** `sha256:<64 hex>` (or sha512) when the reference pins a digest. */
    digest: string | undefined;
}

export class ImageReferenceError extends Error {
    constructor(readonly reason: string) {
        super(reason);
        this.name = "ImageReferenceError";
    }
}

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN_COMPONENT = /^[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?$/;
const IPV6_HOST = /^\[[0-9a-fA-F:.]+\]$/;
const PORT = /^[0-9]{1,5}$/;
const TAG = /^\w[\w.-]{0,127}$/;
const DIGEST = /^(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})$/;
const MAX_NAME_LENGTH = 255;

/** Parses `[registry/]path[:tag][@digest]`; throws ImageReferenceError saying what is wrong. */
export function parseImageReference(text: string): ImageReference {
    if (text.trim() === "") {
        throw new ImageReferenceError("is empty");
    }
    if (/[\s\p{Cc}]/u.test(text)) {
        throw new ImageReferenceError("holds whitespace or a control character");
    }
    const [nameAndTag, digest, ...extra] = text.split("@");
    if (extra.length > 0) {
        throw new ImageReferenceError("has more than one @");
    }
    if (digest !== undefined && !DIGEST.test(digest)) {
        throw new ImageReferenceError(`has a malformed digest "${digest}": expected sha256: and 64 lowercase hex digits`);
    }
    // The tag follows the first ":" after the last "/": a ":" before it is the registry's port.
    const colon = nameAndTag.indexOf(":", nameAndTag.lastIndexOf("/") + 1);
    const hasTag = colon >= 0;
    const name = hasTag ? nameAndTag.slice(0, colon) : nameAndTag;
    const tag = hasTag ? nameAndTag.slice(colon + 1) : undefined;
    if (tag !== undefined && !TAG.test(tag)) {
        throw new ImageReferenceError(`has a malformed tag "${tag}": letters, digits, _, . and -, at most 128, not starting with . or -`);
    }
    if (name.length > MAX_NAME_LENGTH) {
        throw new ImageReferenceError(`has a name longer than ${MAX_NAME_LENGTH} characters`);
    }
    const components = name.split("/");
    // Docker's rule: the first of several components is a registry when it looks like a host.
    const first = components[0];
    const registry = components.length > 1 && (/[.:]/.test(first) || first === "localhost") ? components.shift() : undefined;
    if (registry !== undefined) {
        checkRegistry(registry);
    }
    for (const component of components) {
        if (!PATH_COMPONENT.test(component)) {
            throw new ImageReferenceError(
                component.toLowerCase() !== component
                    ? `has "${component}" in its repository name, which must be lowercase`
                    : `has a malformed repository name component "${component}": lowercase letters and digits, separated by ., _, __ or -`,
            );
        }
    }
    return { registry, repository: components.join("/"), tag, digest };
}

function checkRegistry(registry: string): void {
    const portAt = registry.startsWith("[") ? registry.indexOf(":", registry.indexOf("]")) : registry.indexOf(":");
    const host = portAt < 0 ? registry : registry.slice(0, portAt);
    const port = portAt < 0 ? undefined : registry.slice(portAt + 1);
    const hostOk = IPV6_HOST.test(host) || host.split(".").every((part) => DOMAIN_COMPONENT.test(part));
    if (!hostOk || (port !== undefined && !PORT.test(port))) {
        throw new ImageReferenceError(`has a malformed registry "${registry}"`);
    }
}

/**
 * The PostgreSQL major version a tag names: `pgNN` as one of its dash-separated parts (pgvector's
 * `pg15`, `0.8.0-pg15-bookworm`), else the leading version number (the postgres image's `15`,
 * `15.6-alpine3.19`). Undefined when it names none (`latest`, `alpine`).
 */
export function postgresMajorFromTag(tag: string): number | undefined {
    const parts = tag.split("-");
    const pg = parts.find((part) => /^pg\d+$/.test(part));
    if (pg !== undefined) {
        return Number(pg.slice(2));
    }
    return /^\d+(\.\d+)*$/.test(parts[0]) ? Number(parts[0].split(".")[0]) : undefined;
}

export const POSTGRES_MAJOR = 15;
const EXAMPLES = "postgres:15-alpine, postgres:15.8, pgvector/pgvector:pg15, or name:tag@sha256:…";

export interface PostgresImage {
    reference: ImageReference;
    /** From the tag, or from imageMajorVersion for a digest-only pin. */
    major: number;
}

/**
 * The image must run PostgreSQL 15, and say so: by its tag, or, pinned by digest alone, by the
 * `imageMajorVersion` key. Throws a ConfigError naming the key, the value and the reason.
 */
export function checkPostgresImage(image: string, majorVersion: number | undefined): PostgresImage {
    let reference: ImageReference;
    try {
        reference = parseImageReference(image);
    } catch (error) {
        if (error instanceof ImageReferenceError) {
            throw new ConfigError("image", image, `is not an image reference: it ${error.reason}; use ${EXAMPLES}`);
        }
        throw error;
    }
    if (majorVersion !== undefined && majorVersion !== POSTGRES_MAJOR) {
        throw new ConfigError(
            "imageMajorVersion",
            majorVersion,
            `memory-stack runs on PostgreSQL ${POSTGRES_MAJOR} only; pin a PostgreSQL ${POSTGRES_MAJOR} image and set ${POSTGRES_MAJOR}`,
        );
    }
    const fromTag = reference.tag === undefined ? undefined : postgresMajorFromTag(reference.tag);
    if (reference.tag === undefined && reference.digest === undefined) {
        throw new ConfigError(
            "image",
            image,
            `has no tag, which means :latest and changes under the stack; pin a PostgreSQL ${POSTGRES_MAJOR} tag (${EXAMPLES})`,
        );
    }
    if (reference.tag !== undefined && fromTag === undefined) {
        throw new ConfigError(
            "image",
            image,
            `has the tag "${reference.tag}", which names no PostgreSQL major version; use a PostgreSQL ${POSTGRES_MAJOR} tag (${EXAMPLES})`,
        );
    }
    if (fromTag !== undefined && fromTag !== POSTGRES_MAJOR) {
        throw new ConfigError(
            "image",
            image,
            `runs PostgreSQL ${fromTag} (its tag is "${reference.tag}"); memory-stack needs PostgreSQL ${POSTGRES_MAJOR}: use ${EXAMPLES}`,
        );
    }
    if (fromTag === undefined && majorVersion === undefined) {
        throw new ConfigError(
            "image",
            image,
            `is pinned by digest alone, so nothing says it runs PostgreSQL ${POSTGRES_MAJOR}; confirm it with ` +
                `\`pulumi config set memory-stack:imageMajorVersion ${POSTGRES_MAJOR}\`, or pin name:tag@sha256:…`,
        );
    }
    return { reference, major: POSTGRES_MAJOR };
}
