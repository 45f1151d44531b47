// Retired migrations: files that shipped, so ledgers list them with their checksum, but that no
// stack may apply any more. They stay in sql/ byte-identical, so a database that ran one still
// verifies against it (an edit is still refused), but they are never pending and they are not part
// of the schema checksum: a stack that ran a retired file and one that never did agree on it (and
// on what `pulumi refresh` reads back from the ledger). Their work is done by the files that
// replaced them, which find nothing to do where the retired file already ran.
//
// The list lives here and not in a header because a header is part of the file's text: adding one
// would change the checksum every ledger holds.

/** File name → the migrations that do its work now. */
export const RETIRED_MIGRATIONS: ReadonlyMap<string, string> = new Map([
    // Converted both embedding columns in place under ACCESS EXCLUSIVE for the whole conversion.
    ["0010_vector.sql", "0015_vector_expand.sql and 0016_vector_contract.sql (the switch in steps)"],
]);

export function isRetired(name: string): boolean {
    return RETIRED_MIGRATIONS.has(name);
}
