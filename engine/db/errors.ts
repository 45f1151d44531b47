// How a database or driver error reads in a message: its text, with the SQLSTATE when there is one.

export function describeError(error: unknown): string {
    const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
    const text = typeof message === "string" ? message : String(error);
    return typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) ? `${text} (SQLSTATE ${code})` : text;
}
