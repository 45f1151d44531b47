import { ConfigError, parseConfig, type RawConfig } from "../../engine/config/config";

/** The ConfigError parseConfig throws for this raw config; fails the test when it throws none or another error. */
export function configErrorFor(raw: RawConfig): ConfigError {
    try {
        parseConfig(raw);
    } catch (error) {
        if (error instanceof ConfigError) {
            return error;
        }
        throw error;
    }
    throw new Error(`expected a ConfigError for ${JSON.stringify(raw)}`);
}
