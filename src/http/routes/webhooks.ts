/**
 * Webhook routes (http-api.md §5), all needing `webhook:*`: manage the webhooks of the request's app and
 * environment, read a webhook's delivery log (cursor pages), queue a test delivery, retry a failed one. The secret is
 * in the creation's response only.
 */
import { Effect, Schema } from "effect"
import { InvalidRequest } from "../../domain/errors.js"
import type * as M from "../../domain/models.js"
import { json } from "../../plugin/kit.js"
import { sessionRoute } from "../../plugin/route.js"
import { webhookEventTypes } from "../../services/events.js"
import { Webhooks } from "../../services/webhooks/service.js"
import { empty } from "../message.js"

const Timestamp = Schema.String.annotations({ format: "date-time" })

const eventsDescription = `event types to receive (${webhookEventTypes.join(", ")}), or \`*\` for all`

export const WebhookJson = Schema.Struct({
  id: Schema.String,
  app_id: Schema.String,
  env_id: Schema.String,
  url: Schema.String,
  events: Schema.Array(Schema.String),
  active: Schema.Boolean,
  created_at: Timestamp,
  updated_at: Timestamp,
}).annotations({ identifier: "Webhook" })

const CreatedWebhookJson = Schema.Struct({
  ...WebhookJson.fields,
  secret: Schema.String.annotations({
    description: "the signing secret (`whsec_<base64 key>`, Standard Webhooks): shown only in this response",
  }),
}).annotations({ identifier: "CreatedWebhook" })

export const DeliveryJson = Schema.Struct({
  id: Schema.String.annotations({ description: "also the `webhook-id` header of every attempt" }),
  webhook_id: Schema.String,
  event_id: Schema.String,
  event_type: Schema.String,
  status: Schema.Literal("pending", "delivered", "failed"),
  attempts: Schema.Number,
  last_status_code: Schema.NullOr(Schema.Number).annotations({ description: "the last answer's HTTP status" }),
  last_duration_ms: Schema.NullOr(Schema.Number),
  last_error: Schema.NullOr(Schema.String),
  next_attempt_at: Schema.NullOr(Timestamp).annotations({ description: "the next try (pending deliveries)" }),
  delivered_at: Schema.NullOr(Timestamp),
  created_at: Timestamp,
  updated_at: Timestamp,
}).annotations({ identifier: "WebhookDelivery" })

const webhookJson = (webhook: M.Webhook): typeof WebhookJson.Type => ({
  id: webhook.id,
  app_id: webhook.appId,
  env_id: webhook.envId,
  url: webhook.url,
  events: webhook.events,
  active: webhook.active,
  created_at: webhook.createdAt.toISOString(),
  updated_at: webhook.updatedAt.toISOString(),
})

const deliveryJson = (delivery: M.WebhookDelivery): typeof DeliveryJson.Type => ({
  id: delivery.id,
  webhook_id: delivery.webhookId,
  event_id: delivery.eventId,
  event_type: delivery.eventType,
  status: delivery.status,
  attempts: delivery.attempts,
  last_status_code: delivery.lastStatusCode,
  last_duration_ms: delivery.lastDurationMs,
  last_error: delivery.lastError,
  next_attempt_at: delivery.status === "pending" ? delivery.nextAttemptAt.toISOString() : null,
  delivered_at: delivery.deliveredAt?.toISOString() ?? null,
  created_at: delivery.createdAt.toISOString(),
  updated_at: delivery.updatedAt.toISOString(),
})

const Url = Schema.String.pipe(Schema.minLength(1), Schema.maxLength(2048)).annotations({
  description: "https: (or http:) URL; its host must resolve to public addresses only",
})
const Events = Schema.Array(Schema.String.pipe(Schema.maxLength(100)))
  .pipe(Schema.minItems(1), Schema.maxItems(50))
  .annotations({ description: eventsDescription })

/** `?limit=` (1–100, default 20) and `?cursor=` (the `next_cursor` of the page before). */
const pageOf = (query: URLSearchParams) => {
  const raw = query.get("limit")
  const limit = raw === null ? 20 : /^\d{1,3}$/.test(raw) ? Number(raw) : Number.NaN
  if (!(limit >= 1 && limit <= 100)) {
    return Effect.fail(
      new InvalidRequest({
        message: "invalid limit",
        details: [{ path: "limit", message: "must be an integer from 1 to 100" }],
      }),
    )
  }
  const cursor = query.get("cursor") ?? undefined
  if (cursor !== undefined && !/^[a-z]{2,8}_[0-9a-z]{26}$/.test(cursor)) {
    return Effect.fail(
      new InvalidRequest({ message: "invalid cursor", details: [{ path: "cursor", message: "not a cursor" }] }),
    )
  }
  return Effect.succeed({ limit, cursor })
}

export const webhookRoutes = Effect.gen(function* () {
  const webhooks = yield* Webhooks
  const idParam = (params: Readonly<Record<string, string>>) => params["id"] ?? ""

  const create = sessionRoute({
    method: "POST",
    path: "/webhooks",
    tag: "Webhooks",
    summary: "Add a webhook for the app and environment; its signing secret is in this response only",
    description:
      "Every event of the listed types is POSTed to `url`, signed per Standard Webhooks 1.0 (`webhook-id`, " +
      "`webhook-timestamp`, `webhook-signature`) plus `X-Authsome-Event`, and retried on failure for about a day. " +
      "A URL whose host resolves to a loopback, private, link-local or otherwise non-public address is refused " +
      "(400) unless the server allows private targets.",
    requires: "webhook:*",
    body: Schema.Struct({ url: Url, events: Events }),
    responses: { 201: { description: "the webhook, with its secret shown once", schema: CreatedWebhookJson } },
    handler: (request) =>
      Effect.map(webhooks.create(request.client, request.body), ({ webhook, secret }) =>
        json(201, { ...webhookJson(webhook), secret }),
      ),
  })

  const list = sessionRoute({
    method: "GET",
    path: "/webhooks",
    tag: "Webhooks",
    summary: "The webhooks of the app and environment, newest first (never their secrets)",
    requires: "webhook:*",
    responses: {
      200: { description: "webhooks", schema: Schema.Struct({ webhooks: Schema.Array(WebhookJson) }) },
    },
    handler: (request) =>
      Effect.map(webhooks.list(request.client), (all) => json(200, { webhooks: all.map(webhookJson) })),
  })

  const get = sessionRoute({
    method: "GET",
    path: "/webhooks/:id",
    tag: "Webhooks",
    summary: "One webhook",
    requires: "webhook:*",
    responses: { 200: { description: "the webhook", schema: WebhookJson } },
    handler: (request) =>
      Effect.map(webhooks.get(request.client, idParam(request.params)), (webhook) => json(200, webhookJson(webhook))),
  })

  const update = sessionRoute({
    method: "PATCH",
    path: "/webhooks/:id",
    tag: "Webhooks",
    summary: "Change a webhook's URL or events, or pause it (`active: false`; nothing is delivered while paused)",
    requires: "webhook:*",
    body: Schema.Struct({
      url: Schema.optional(Url),
      events: Schema.optional(Events),
      active: Schema.optional(Schema.Boolean),
    }),
    responses: { 200: { description: "the webhook", schema: WebhookJson } },
    handler: (request) =>
      Effect.map(webhooks.update(request.client, idParam(request.params), request.body), (webhook) =>
        json(200, webhookJson(webhook)),
      ),
  })

  const remove = sessionRoute({
    method: "DELETE",
    path: "/webhooks/:id",
    tag: "Webhooks",
    summary: "Delete a webhook and its delivery log",
    requires: "webhook:*",
    responses: { 204: { description: "deleted" } },
    handler: (request) => Effect.as(webhooks.remove(request.client, idParam(request.params)), empty(204)),
  })

  const deliveries = sessionRoute({
    method: "GET",
    path: "/webhooks/:id/deliveries",
    tag: "Webhooks",
    summary: "The webhook's delivery log, newest first: status, attempts, last answer, duration, next try",
    requires: "webhook:*",
    query: [
      { name: "limit", description: "page size, 1 to 100 (default 20)" },
      { name: "cursor", description: "`next_cursor` of the previous page" },
    ],
    responses: {
      200: {
        description: "one page of deliveries",
        schema: Schema.Struct({
          deliveries: Schema.Array(DeliveryJson),
          next_cursor: Schema.optional(Schema.String).annotations({ description: "absent on the last page" }),
        }),
      },
    },
    handler: (request) =>
      Effect.gen(function* () {
        const page = yield* pageOf(request.query)
        const found = yield* webhooks.deliveryLog(request.client, idParam(request.params), page)
        return json(200, {
          deliveries: found.items.map(deliveryJson),
          ...(found.nextCursor === undefined ? {} : { next_cursor: found.nextCursor }),
        })
      }),
  })

  const test = sessionRoute({
    method: "POST",
    path: "/webhooks/:id/test",
    tag: "Webhooks",
    summary: "Queue a `webhook.test` event to this webhook; its outcome shows in the delivery log",
    requires: "webhook:*",
    responses: { 202: { description: "the queued delivery", schema: DeliveryJson } },
    handler: (request) =>
      Effect.map(webhooks.sendTest(request.client, idParam(request.params)), (delivery) =>
        json(202, deliveryJson(delivery)),
      ),
  })

  const retry = sessionRoute({
    method: "POST",
    path: "/webhooks/:id/deliveries/:deliveryId/retry",
    tag: "Webhooks",
    summary: "Queue a failed delivery again (same `webhook-id`, a new retry schedule); 409 unless it failed",
    requires: "webhook:*",
    responses: { 202: { description: "the delivery, pending again", schema: DeliveryJson } },
    handler: (request) =>
      Effect.map(
        webhooks.retry(request.client, idParam(request.params), request.params["deliveryId"] ?? ""),
        (delivery) => json(202, deliveryJson(delivery)),
      ),
  })

  return [create, list, get, update, remove, deliveries, test, retry]
})
