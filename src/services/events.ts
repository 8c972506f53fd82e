/**
 * Events: one call records a security-relevant change in the audit log and, for the event types webhooks can
 * subscribe to (http-api.md §5), queues one delivery per subscribed webhook — in the caller's transaction, so an
 * event exists exactly when its change committed. The webhook dispatcher delivers the queued rows.
 */
import { Clock, Effect } from "effect"
import { newId } from "../domain/ids.js"
import type * as M from "../domain/models.js"
import { Audit, type AuditInput } from "./audit.js"
import type { ClientContext } from "./context.js"
import { WebhookDeliveryStore, WebhookStore } from "./store/index.js"
import { WebhookWakeUp } from "./webhooks/wake-up.js"

/** The event types of http-api.md §5 that webhooks receive. */
export const webhookEventTypes = [
  "user.created",
  "user.updated",
  "user.deleted",
  "user.email_verified",
  "session.created",
  "session.revoked",
  "auth.signin",
  "auth.signin.failed",
  "auth.signout",
  "auth.password_reset",
  "auth.password_changed",
  "auth.account_locked",
  "auth.refresh_token_reused",
  "org.created",
  "org.updated",
  "org.deleted",
  "org.member.invited",
  "org.member.joined",
  "org.member.removed",
  "org.member.role_changed",
  "apikey.created",
  "apikey.revoked",
  "auth.mfa.enrolled",
  "auth.mfa.disabled",
  "auth.passkey.registered",
] as const
export type WebhookEventType = (typeof webhookEventTypes)[number]

const deliverable = new Set<string>(webhookEventTypes)

export interface EventInput extends AuditInput {
  /** The webhook payload's `data` (defaults to the audit metadata plus the user id). */
  readonly data?: Readonly<Record<string, unknown>>
}

export class Events extends Effect.Service<Events>()("authsome/Events", {
  effect: Effect.gen(function* () {
    const audit = yield* Audit
    const webhooks = yield* WebhookStore
    const deliveries = yield* WebhookDeliveryStore
    const wakeUp = yield* WebhookWakeUp

    /** The deliveries of one event for every webhook of its app and environment subscribed to its type. */
    const fanOut = (event: M.AuditEvent, data: Readonly<Record<string, unknown>>) =>
      Effect.gen(function* () {
        if (!deliverable.has(event.type) || event.envId === null) return
        const subscribed = yield* webhooks.listSubscribed(event.appId, event.envId, event.type)
        if (subscribed.length === 0) return
        const payload = {
          id: event.id,
          type: event.type,
          created_at: event.createdAt.toISOString(),
          app_id: event.appId,
          env_id: event.envId,
          data,
        }
        yield* deliveries.enqueue(
          subscribed.map(
            (webhook): M.WebhookDelivery => ({
              id: newId.webhookDelivery(),
              appId: event.appId,
              webhookId: webhook.id,
              eventId: event.id,
              eventType: event.type,
              payload,
              status: "pending",
              attempts: 0,
              nextAttemptAt: event.createdAt,
              lastStatusCode: null,
              lastDurationMs: null,
              lastError: null,
              deliveredAt: null,
              createdAt: event.createdAt,
              updatedAt: event.createdAt,
            }),
          ),
        )
        yield* wakeUp.signal
      })

    const dataOf = (input: EventInput) => input.data ?? { ...input.metadata, user_id: input.userId ?? null }

    /** Records the event and queues its webhook deliveries. Call inside the change's transaction. */
    const emit = (client: ClientContext, input: EventInput) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        const event = audit.event(client, input, new Date(now))
        return Effect.zipRight(audit.write(event), fanOut(event, dataOf(input)))
      })

    /**
     * For an event already written with its change by a store (a sign-in's session and `auth.signin` event are one
     * statement): queues its webhook deliveries.
     */
    const deliveriesFor = (event: M.AuditEvent, input: EventInput) => fanOut(event, dataOf(input))

    return { emit, deliveriesFor } as const
  }),
  dependencies: [WebhookWakeUp.Default],
}) {}
