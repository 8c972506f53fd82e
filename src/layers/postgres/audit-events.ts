/** The audit log's table: written by the audit store and, with a sign-in's session, by the session store. */
import type * as M from "../../domain/models.js"
import * as Sql from "./sql.js"

export const AuditEvents = Sql.defineTable<M.AuditEvent>("authsome_audit_events", {
  id: "text",
  appId: "text",
  envId: "text",
  userId: "text",
  actorId: "text",
  type: "text",
  outcome: "text",
  reason: "text",
  ipAddress: "text",
  userAgent: "text",
  metadata: "jsonb",
  createdAt: "timestamptz",
})
