/** Audit events: one row per security-relevant action, written in the caller's transaction. */
import { Clock, Effect } from "effect"
import { newId, type UserId } from "../domain/ids.js"
import type * as M from "../domain/models.js"
import type { ClientContext } from "./context.js"
import { AuditStore } from "./store/index.js"

export interface AuditInput {
  readonly type: string
  readonly outcome?: "success" | "failure"
  readonly userId?: UserId | null
  readonly actorId?: UserId | null
  readonly reason?: string | null
  readonly metadata?: M.Metadata
}

export class Audit extends Effect.Service<Audit>()("authsome/Audit", {
  effect: Effect.gen(function* () {
    const events = yield* AuditStore
    /** The row of an event at `now` (for stores that write it together with the change it records). */
    const event = (ctx: ClientContext, input: AuditInput, now: Date): M.AuditEvent => ({
      id: newId.auditEvent(),
      appId: ctx.app.id,
      envId: ctx.env.id,
      userId: input.userId ?? null,
      actorId: input.actorId ?? input.userId ?? null,
      type: input.type,
      outcome: input.outcome ?? "success",
      reason: input.reason ?? null,
      ipAddress: ctx.ip,
      userAgent: ctx.userAgent,
      metadata: input.metadata ?? null,
      createdAt: now,
    })
    const record = (ctx: ClientContext, input: AuditInput) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => events.record(event(ctx, input, new Date(now))))
    /** Writes a row made by `event`. */
    const write = (row: M.AuditEvent) => events.record(row)
    return { record, event, write } as const
  }),
}) {}
