// pgvector's ivfflat index over cosine distance needs at least 2 dimensions: the stack config refuses vector(1) with
// ivfflat at preview, before the switch could fail at its index step (test/integration/attack25-ivfflat-one-dimension).
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../engine/config/config";
import { configErrorFor } from "../support/config-errors";

describe("vectorDimensions 1 with vectorIndex ivfflat", () => {
    it("is refused with vector on, naming the key", () => {
        const error = configErrorFor({ vector: "true", vectorIndex: "ivfflat", vectorDimensions: "1" });
        expect(error.key).toBe("vectorDimensions");
        expect(error.message).toContain("pgvector's ivfflat index needs at least 2 dimensions for cosine distance; use vectorIndex hnsw");
    });

    it("is accepted with hnsw, with two dimensions, and with vector off", () => {
        expect(parseConfig({ vector: "true", vectorIndex: "hnsw", vectorDimensions: "1" }).vectorDimensions).toBe(1);
        expect(parseConfig({ vector: "true", vectorIndex: "ivfflat", vectorDimensions: "2" }).vectorDimensions).toBe(2);
        expect(parseConfig({ vectorIndex: "ivfflat", vectorDimensions: "1" }).vector).toBe(false);
    });
});
