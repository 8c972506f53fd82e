/** The webhook suite on the memory store: its outbox claims, retries and fails deliveries as PostgreSQL's does. */
import { useBackend } from "../support/http.js"

useBackend("memory")
await import("./webhooks.test.js")
