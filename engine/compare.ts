// Text order by UTF-16 code units, as Array.prototype.sort's default: names and identities need a
// stable order, not a language's, and localeCompare's first call loads a collator (milliseconds of
// every CLI start).
export function compareText(a: string, b: string): number {
    return a < b ? -1 : a > b ? 1 : 0;
}
