// ESLint with typescript-eslint's recommended rules; Prettier owns the layout (npm run lint runs both).
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
    { ignores: ["dist/", "dist.next-*/", "dist.previous-*/", "node_modules/", ".pulumi-state/", "test/fixtures/"] },
    js.configs.recommended,
    ...tseslint.configs.recommended,
    {
        languageOptions: {
            globals: {
                require: "readonly",
                process: "readonly",
                console: "readonly",
                __dirname: "readonly",
                Buffer: "readonly",
                setTimeout: "readonly",
                clearTimeout: "readonly",
                setImmediate: "readonly",
                module: "readonly",
            },
        },
        rules: {
            "@typescript-eslint/no-unused-vars": [
                "error",
                { argsIgnorePattern: "^_", varsIgnorePattern: "^_", destructuredArrayIgnorePattern: "^_" },
            ],
        },
    },
    {
        // Serialized into Pulumi state and run by the provider host: it must require what it needs when called.
        files: ["components/provider-loader.ts"],
        rules: { "@typescript-eslint/no-require-imports": "off" },
    },
    {
        // Plain CommonJS scripts and the protobuf modules Pulumi ships without types.
        files: ["**/*.js", "test/support/provider-host.ts", "test/support/schema-provider.ts"],
        rules: { "@typescript-eslint/no-require-imports": "off" },
    },
);
