// Waiting for something another process does, without fixed sleeps: poll with a deadline.

/** Calls `probe` every 20 ms until it returns a value other than undefined, and returns that; throws naming `what` at the deadline. */
export async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const value = await probe();
        if (value !== undefined) {
            return value;
        }
        if (Date.now() > deadline) {
            throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
    }
}
