/** The package's version, reported by `/client-config`, the OpenAPI document and the CLI. */
export const version = "0.2.0"
