// Which C library an image's PostgreSQL sorts text with, where its reference says so: the official postgres images
// and pgvector's (built on them) are Debian, glibc, unless the tag names alpine, musl. Any other repository, or a
// digest alone, says nothing.
import { parseImageReference } from "./image";

export type Libc = "musl" | "glibc";

const KNOWN = ["postgres", "library/postgres", "pgvector/pgvector"];

export function imageLibc(image: string): Libc | undefined {
    let repository: string;
    let tag: string | undefined;
    try {
        ({ repository, tag } = parseImageReference(image));
    } catch {
        return undefined;
    }
    if (tag === undefined || !KNOWN.includes(repository)) {
        return undefined;
    }
    return /alpine/.test(tag) ? "musl" : "glibc";
}
