/**
 * Events: one call records a security-relevant change in the audit log and, for the event types webhooks can
 * subscribe to (http-api.md §5), queues one delivery per subscribed webhook — in the caller's transaction, so an
 * event exists exactly when its change committed. The webhook dispatcher delivers the queued rows.
 */
import { Clock, Effect } from "effect"
import { newId, type UserId } from "../domain/ids.js"
import type * as M from "../domain/models.js"
import { Audit, type AuditInput } from "./audit.js"
import type { ClientContext } from "./context.js"
import { Store, WebhookDeliveryStore, WebhookStore } from "./store/index.js"
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

type EventData = Readonly<Record<string, unknown>>

export interface EventInput extends AuditInput {
  /** The webhook payload's `data` (defaults to the audit metadata plus the user id). */
  readonly data?: EventData
}

export class Events extends Effect.Service<Events>()("authsome/Events", {
  effect: Effect.gen(function* () {
    const audit = yield* Audit
    const store = yield* Store
    const webhooks = yield* WebhookStore
    const deliveries = yield* WebhookDeliveryStore
    const wakeUp = yield* WebhookWakeUp

    /**
     * The deliveries of a change's events (one app and environment, the client's) for every webhook subscribed to
     * their types (unsaved): one read of the subscriptions for all of them.
     */
    const deliveriesOf = (recorded: ReadonlyArray<{ readonly event: M.AuditEvent; readonly data: EventData }>) =>
      Effect.gen(function* () {
        const wanted = recorded.filter(({ event }) => deliverable.has(event.type) && event.envId !== null)
        const first = wanted[0]?.event
        if (first === undefined || first.envId === null) return []
        const types = Array.from(new Set(wanted.map(({ event }) => event.type)))
        const subscribed = yield* webhooks.listSubscribed(first.appId, first.envId, types)
        return wanted.flatMap(({ event, data }) => {
          const payload = {
            id: event.id,
            type: event.type,
            created_at: event.createdAt.toISOString(),
            app_id: event.appId,
            env_id: event.envId,
            data,
          }
          return subscribed
            .filter((webhook) => webhook.events.includes("*") || webhook.events.includes(event.type))
            .map(
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
            )
        })
      })

    /** Saves deliveries made by `deliveriesOf` (in the transaction of their events) and wakes the dispatcher. */
    const enqueue = (queued: ReadonlyArray<M.WebhookDelivery>) =>
      queued.length === 0 ? Effect.void : Effect.zipRight(deliveries.enqueue(queued), wakeUp.signal)

    const dataOf = (input: EventInput): EventData => input.data ?? { ...input.metadata, user_id: input.userId ?? null }

    /**
     * The rows (at `now`) of one change's events, all for the client's app and environment, and their webhook
     * deliveries, for a store that writes the rows with its change.
     */
    const prepare = (client: ClientContext, inputs: ReadonlyArray<EventInput>, now: Date) => {
      const recorded = inputs.map((input) => ({ event: audit.event(client, input, now), data: dataOf(input) }))
      return Effect.map(deliveriesOf(recorded), (queued) => ({
        events: recorded.map(({ event }) => event),
        deliveries: queued,
      }))
    }

    /** Records the event and queues its webhook deliveries. Call inside the change's transaction. */
    const emit = (client: ClientContext, input: EventInput) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        const event = audit.event(client, input, new Date(now))
        return Effect.flatMap(deliveriesOf([{ event, data: dataOf(input) }]), (queued) =>
          // the event and its deliveries are one unit even when the caller has no transaction (a savepoint in one)
          queued.length === 0
            ? audit.write(event)
            : store.transaction(Effect.zipRight(audit.write(event), enqueue(queued))),
        )
      })

    /** `user.created`, emitted by every way of making an account (in its transaction); `method` says which. */
    const userCreated = (client: ClientContext, user: M.User, method: string, actorId?: UserId) =>
      emit(client, {
        type: "user.created",
        userId: user.id,
        actorId: actorId ?? user.id,
        metadata: { method },
        data: { user_id: user.id, email: user.email, email_verified: user.emailVerified, method },
      })

    return { emit, prepare, enqueue, userCreated } as const
  }),
  dependencies: [WebhookWakeUp.Default],
}) {}
