// What a password test asserts: the role a connection logs in as, or, when it cannot log in, its SQLSTATE
// (28P01 for a wrong password), or the error itself when there is none.
import { Client, type ClientConfig } from "pg";

export async function loginAs(config: ClientConfig): Promise<string> {
    const client = new Client({ connectionTimeoutMillis: 10_000, ...config });
    try {
        await client.connect();
        return (await client.query<{ me: string }>("select current_user as me")).rows[0].me;
    } catch (error) {
        return (error as { code?: string }).code ?? String(error);
    } finally {
        await client.end().catch(() => undefined);
    }
}
