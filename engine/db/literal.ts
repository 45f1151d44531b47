// Values written into SQL text as literals, for reads sent together in one plain round trip (a simple
// query carries no parameters). pg's escapeLiteral quotes each one, backslashes and quotes included.
import { escapeLiteral } from "./pg";

/** A text[] literal: array['a', 'b']::text[] (array[]::text[] when empty). */
export function textArray(values: readonly string[]): string {
    return `array[${values.map(escapeLiteral).join(", ")}]::text[]`;
}
