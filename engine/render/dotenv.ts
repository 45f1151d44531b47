// One line of the stack's `dotenv` output, read back as the same value by a POSIX shell (`set -a; . ./.env`), dotenv
// libraries and docker compose. A value holding a character the shell treats specially (the `&` between a URL's query
// parameters: it would run the assignment in the background) is single-quoted. The connection strings percent-encode
// every `'` and control character of a user, password or database, so a quote never needs escaping inside one.
// `docker run --env-file` keeps quotes as part of the value: it reads the plain lines only.
const PLAIN = /^[A-Za-z0-9_./:@%+=,?-]*$/;

export function dotenvLine(key: string, value: string): string {
    if (/['\n\r]/.test(value)) {
        throw new Error(`${key}: a value holding a quote or a line break cannot be written to dotenv`);
    }
    return PLAIN.test(value) ? `${key}=${value}` : `${key}='${value}'`;
}
