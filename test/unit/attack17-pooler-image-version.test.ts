// attack17: a PgBouncer image pinned to a release that cannot run the rendered config.
import { describe, expect, it } from "vitest";
import { parseConfig, type RawConfig } from "../../engine/config/config";
import { configErrorFor } from "../support/config-errors";

const pooling = (value: object): RawConfig => ({ pooling: JSON.stringify(value) });

describe("the PgBouncer image's version", () => {
    // What breaks: the stack's auth file holds the app role's SCRAM secret (components/access.ts derives it), and
    // PgBouncer logs in to PostgreSQL with a SCRAM secret only from 1.14.0 (its NEWS: "Add SCRAM authentication
    // pass-through", 2020-06-11); auth_type = scram-sha-256 itself exists from 1.11.0. An image pinned to 1.11-1.13 (a
    // team's existing edoburu/pgbouncer:1.12.0) passes preview, starts, passes its healthcheck (the port listens) and
    // `pulumi up` succeeds, verified on the direct connection; then every application login through the pooler fails.
    // Before 1.11 PgBouncer refuses the config and restarts until docker's wait gives up.
    // What the user loses: a green deploy whose pooled connection string (the one the application uses) never works,
    // where bad config should fail at preview naming the key.
    it.each(["edoburu/pgbouncer:1.12.0", "registry.local:5000/pgbouncer:v1.13.0-p1"])(
        "refuses %s, older than 1.14.0, naming pooling.image",
        (image) => {
            const error = configErrorFor(pooling({ image }));
            expect(error.key).toBe("pooling.image");
            expect(error.message).toContain("1.14.0");
        },
    );

    it.each(["edoburu/pgbouncer:1.14.0", "edoburu/pgbouncer:v1.18.0-p0", "edoburu/pgbouncer:v1.26.0-p0", "mirror.local/pgbouncer:2024-06"])(
        "accepts %s (1.14.0 or later, or a tag that does not say)",
        (image) => {
            expect(parseConfig(pooling({ image })).pooling.image).toBe(image);
        },
    );
});
