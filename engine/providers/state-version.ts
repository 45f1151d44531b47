// State written by a newer memory-stack must not be read by older code: it might drop what it does not
// know (an older rollback over newer objects) or rewrite the state in its older shape.

export class NewerStateError extends Error {
    constructor(resource: string, stateVersion: number, understood: number) {
        super(
            `${resource}: the state was written by a newer memory-stack (state version ${stateVersion}; this one understands up to ${understood}). ` +
                "Nothing was done. Run pulumi with the memory-stack version that wrote it, or a newer one (npm ci in the project that deployed the stack).",
        );
        this.name = "NewerStateError";
    }
}

/** Throws NewerStateError when `olds` carries a state version above `understood`. */
export function refuseNewerState(resource: string, olds: { stateVersion?: unknown } | undefined, understood: number): void {
    const version = olds?.stateVersion;
    if (typeof version === "number" && version > understood) {
        throw new NewerStateError(resource, version, understood);
    }
}
