/**
 * Webhook management (http-api.md §5): a webhook belongs to the app and environment of the request that made it;
 * its signing secret is shown once and kept sealed (`SecretBox`, purpose "webhook-secret"). Targets pass the SSRF
 * guard when they are set, and again at every delivery (the dispatcher).
 */
import { Clock, Effect, Option } from "effect"
import { Conflict, InvalidRequest, NotFound } from "../../domain/errors.js"
import { isId, newId, type WebhookDeliveryId, type WebhookId } from "../../domain/ids.js"
import type * as M from "../../domain/models.js"
import { AuthConfig } from "../config.js"
import type { ClientContext } from "../context.js"
import { webhookEventTypes } from "../events.js"
import { SecretBox } from "../secrets.js"
import type { PageRequest } from "../store/common.js"
import { WebhookDeliveryStore, WebhookStore } from "../store/index.js"
import { newWebhookSecret } from "./signing.js"
import { checkTarget, parseTargetUrl } from "./targets.js"
import { WebhookWakeUp } from "./wake-up.js"

/** The purpose under which `SecretBox` seals signing secrets. */
export const webhookSecretPurpose = "webhook-secret"

/** The event type of `POST /webhooks/:id/test` deliveries. */
export const testEventType = "webhook.test"

/** What a webhook may subscribe to: the event types of §5, or `*` for all of them. */
const subscribable = new Set<string>([...webhookEventTypes, "*"])

export interface NewWebhook {
  readonly url: string
  readonly events: ReadonlyArray<string>
}

export interface WebhookChange {
  readonly url?: string | undefined
  readonly events?: ReadonlyArray<string> | undefined
  readonly active?: boolean | undefined
}

const invalid = (path: string, message: string) =>
  new InvalidRequest({ message: `invalid ${path}`, details: [{ path, message }] })

export class Webhooks extends Effect.Service<Webhooks>()("authsome/Webhooks", {
  effect: Effect.gen(function* () {
    const config = yield* AuthConfig
    const webhooks = yield* WebhookStore
    const deliveries = yield* WebhookDeliveryStore
    const box = yield* SecretBox
    const wakeUp = yield* WebhookWakeUp
    const now = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms))

    /** The URL, if it is an http(s) URL whose host passes the SSRF guard now. */
    const validUrl = (value: string) =>
      Effect.gen(function* () {
        const url = parseTargetUrl(value)
        if (typeof url === "string") return yield* invalid("url", url)
        yield* checkTarget(url, config.webhooks.allowPrivateTargets).pipe(
          Effect.mapError((refused) => invalid("url", refused.message)),
        )
        return url.href
      })

    const validEvents = (events: ReadonlyArray<string>) => {
      if (events.length === 0) return Effect.fail(invalid("events", "must name at least one event type"))
      const unknown = events.findIndex((event) => !subscribable.has(event))
      return unknown === -1
        ? Effect.succeed([...new Set(events)])
        : Effect.fail(invalid(`events.${unknown}`, "unknown event type"))
    }

    /** The webhook of the request's app and environment; any other (or a malformed id) is `NotFound`. */
    const find = (client: ClientContext, id: string) =>
      Effect.gen(function* () {
        const found = isId("webhook", id)
          ? yield* Effect.option(webhooks.get(id as WebhookId))
          : Option.none<M.Webhook>()
        if (Option.isNone(found) || found.value.appId !== client.app.id || found.value.envId !== client.env.id) {
          return yield* new NotFound({ entity: "webhook" })
        }
        return found.value
      })

    /** Makes a webhook; returns it with its secret (`whsec_...`), which is never shown again. */
    const create = (client: ClientContext, input: NewWebhook) =>
      Effect.gen(function* () {
        const url = yield* validUrl(input.url)
        const events = yield* validEvents(input.events)
        const secret = newWebhookSecret()
        const at = yield* now
        const webhook = yield* webhooks.create({
          id: newId.webhook(),
          appId: client.app.id,
          envId: client.env.id,
          url,
          events,
          secret: box.seal(webhookSecretPurpose, secret),
          active: true,
          createdAt: at,
          updatedAt: at,
        })
        return { webhook, secret } as const
      })

    /** The webhooks of the request's app and environment, newest first. */
    const list = (client: ClientContext) =>
      Effect.map(webhooks.listByApp(client.app.id), (all) => all.filter((webhook) => webhook.envId === client.env.id))

    const update = (client: ClientContext, id: string, change: WebhookChange) =>
      Effect.gen(function* () {
        const webhook = yield* find(client, id)
        const url = change.url === undefined ? undefined : yield* validUrl(change.url)
        const events = change.events === undefined ? undefined : yield* validEvents(change.events)
        return yield* webhooks.update(
          webhook.id,
          {
            ...(url === undefined ? {} : { url }),
            ...(events === undefined ? {} : { events }),
            ...(change.active === undefined ? {} : { active: change.active }),
          },
          yield* now,
        )
      })

    /** Deletes the webhook and its delivery log (pending deliveries are never made). */
    const remove = (client: ClientContext, id: string) =>
      Effect.flatMap(find(client, id), (webhook) => webhooks.delete(webhook.id))

    /** One page of the webhook's deliveries, newest first. */
    const deliveryLog = (client: ClientContext, id: string, page: PageRequest) =>
      Effect.flatMap(find(client, id), (webhook) => deliveries.listByWebhook(webhook.id, page))

    /**
     * Queues a `webhook.test` delivery to the webhook (made by the dispatcher like any other, so it shows in the
     * delivery log with its outcome); returns it.
     */
    const sendTest = (client: ClientContext, id: string) =>
      Effect.gen(function* () {
        const webhook = yield* find(client, id)
        const at = yield* now
        const eventId = newId.auditEvent()
        const delivery: M.WebhookDelivery = {
          id: newId.webhookDelivery(),
          appId: webhook.appId,
          webhookId: webhook.id,
          eventId,
          eventType: testEventType,
          payload: {
            id: eventId,
            type: testEventType,
            created_at: at.toISOString(),
            app_id: webhook.appId,
            env_id: webhook.envId,
            data: { webhook_id: webhook.id },
          },
          status: "pending",
          attempts: 0,
          nextAttemptAt: at,
          lastStatusCode: null,
          lastDurationMs: null,
          lastError: null,
          deliveredAt: null,
          createdAt: at,
          updatedAt: at,
        }
        yield* deliveries.enqueue([delivery])
        yield* wakeUp.signal
        return delivery
      })

    /** Queues a failed delivery of the webhook again, with a new retry schedule; any other is `Conflict`. */
    const retry = (client: ClientContext, id: string, deliveryId: string) =>
      Effect.gen(function* () {
        const webhook = yield* find(client, id)
        const found = isId("webhookDelivery", deliveryId)
          ? yield* Effect.option(deliveries.get(deliveryId as WebhookDeliveryId))
          : Option.none<M.WebhookDelivery>()
        if (Option.isNone(found) || found.value.webhookId !== webhook.id) {
          return yield* new NotFound({ entity: "webhook_delivery" })
        }
        const requeued = yield* deliveries.requeue(found.value.id, yield* now)
        if (Option.isNone(requeued)) return yield* new Conflict({ message: "only a failed delivery can be retried" })
        yield* wakeUp.signal
        return requeued.value
      })

    return { create, list, get: find, update, remove, deliveryLog, sendTest, retry } as const
  }),
  dependencies: [WebhookWakeUp.Default],
}) {}
