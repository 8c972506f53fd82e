/**
 * HTTP suites through PgBouncer in transaction mode (`poolMode: "transaction"`): the same tests as on a direct
 * connection, with migrations, mail delivery (the outbox), webhook deliveries (every event type, MFA and passkeys
 * included), API keys and permission checks (their lookups run in PL/pgSQL functions there), and every instance of a
 * file going through the pooler.
 */
import { useBackend } from "../support/http.js"

useBackend("pgbouncer")
await import("./flows.test.js")
await import("./accounts.test.js")
await import("./refresh.test.js")
await import("./orgs.test.js")
await import("./rbac.test.js")
await import("./api-keys.test.js")
await import("./limits.test.js")
await import("./admin.test.js")
await import("./webhook-events.test.js")
