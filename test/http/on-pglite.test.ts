/**
 * The HTTP suites that need no PostgreSQL concurrency (one instance, no raw connections), on the pglite store: the
 * same tests as on PostgreSQL, so every store serves the contract alike.
 */
import { useBackend } from "../support/http.js"

useBackend("pglite")
await import("./flows.test.js")
await import("./accounts.test.js")
