/** API-key routes (http-api.md §5): make a key (shown once), list them (no secrets), revoke one. */
import { Effect, Schema } from "effect"
import type * as M from "../../domain/models.js"
import { json } from "../../plugin/kit.js"
import { sessionRoute } from "../../plugin/route.js"
import { ApiKeys } from "../../services/api-keys.js"
import { empty } from "../message.js"

const Timestamp = Schema.String.annotations({ format: "date-time" })

export const ApiKeyJson = Schema.Struct({
  id: Schema.String,
  name: Schema.String,
  key_prefix: Schema.String,
  scopes: Schema.Array(Schema.String),
  expires_at: Schema.NullOr(Timestamp),
  last_used_at: Schema.NullOr(Timestamp),
  created_at: Timestamp,
}).annotations({ identifier: "ApiKey" })

const CreatedApiKeyJson = Schema.Struct({
  ...ApiKeyJson.fields,
  key: Schema.String.annotations({ description: "the whole key (`sk_live_...`): shown only in this response" }),
}).annotations({ identifier: "CreatedApiKey" })

const apiKeyJson = (key: M.ApiKey): typeof ApiKeyJson.Type => ({
  id: key.id,
  name: key.name,
  key_prefix: key.keyPrefix,
  scopes: key.scopes,
  expires_at: key.expiresAt?.toISOString() ?? null,
  last_used_at: key.lastUsedAt?.toISOString() ?? null,
  created_at: key.createdAt.toISOString(),
})

export const apiKeyRoutes = Effect.gen(function* () {
  const apiKeys = yield* ApiKeys

  const create = sessionRoute({
    method: "POST",
    path: "/keys",
    tag: "API keys",
    summary: "Make an API key for the signed-in user; the key is in this response only",
    description:
      "The key authenticates as its user (`Authorization: Bearer sk_...` or `X-API-Key`). With `scopes` " +
      "(permissions `resource:action`) it reaches only the routes they cover; each scope must be a permission the " +
      "user holds (403 otherwise). Needs a session: a key cannot make keys.",
    credentials: "session",
    body: Schema.Struct({
      name: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(100)),
      scopes: Schema.optional(Schema.Array(Schema.String.pipe(Schema.maxLength(130))).pipe(Schema.maxItems(50))),
      expires_at: Schema.optional(Schema.NullOr(Schema.DateFromString.pipe(Schema.validDate()))),
    }),
    responses: { 201: { description: "the key, shown once", schema: CreatedApiKeyJson } },
    handler: (request) =>
      Effect.map(
        apiKeys.create(request.auth.user, request.client, {
          name: request.body.name,
          scopes: request.body.scopes,
          expiresAt: request.body.expires_at,
        }),
        ({ key, secret }) => json(201, { ...apiKeyJson(key), key: secret }),
      ),
  })

  const list = sessionRoute({
    method: "GET",
    path: "/keys",
    tag: "API keys",
    summary: "The signed-in user's API keys (not revoked), newest first; never the keys themselves",
    responses: { 200: { description: "keys", schema: Schema.Struct({ keys: Schema.Array(ApiKeyJson) }) } },
    handler: (request) =>
      Effect.map(apiKeys.listForUser(request.auth.user), (keys) => json(200, { keys: keys.map(apiKeyJson) })),
  })

  const revoke = sessionRoute({
    method: "DELETE",
    path: "/keys/:id",
    tag: "API keys",
    summary: "Revoke one of the signed-in user's API keys: every instance refuses it from the next request",
    responses: { 204: { description: "revoked" } },
    handler: (request) =>
      Effect.as(apiKeys.revoke(request.auth.user, request.params["id"] ?? "", request.client), empty(204)),
  })

  return [create, list, revoke]
})
