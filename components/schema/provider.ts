// Kept for state written before the layout of release 3: those stubs load this file from the working
// directory through tsx. It is today's implementation under the old path, so such a stack still
// refreshes, updates and destroys; the next `up` replaces the stub with one that loads
// memory-stack/providers by name.
export * from "../../engine/providers/schema-migration";
