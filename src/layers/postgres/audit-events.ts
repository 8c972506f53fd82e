/** The audit log's table: written by the audit store and, with a sign-in's session, by the session store. */
import * as M from "../../domain/models.js"
import * as Sql from "./sql.js"

export const AuditEvents = Sql.tableOf("authsome_audit_events", M.AuditEvent)
