// A part of the benchmark that never finishes must not hold the run, and CI, forever: past its deadline it
// fails like any other failed part, and the run goes on; its exit ends whatever the part left running.

/** `work`'s result, or a rejection naming `what` once `ms` have passed without one. */
export async function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms / 1000} s`)), ms);
    });
    try {
        return await Promise.race([work, expired]);
    } finally {
        clearTimeout(timer);
    }
}
