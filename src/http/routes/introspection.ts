/** `POST /introspect` (http-api.md §3). */
import { Effect, Schema } from "effect"
import { HttpKit, json } from "../../plugin/kit.js"
import { publicRoute } from "../../plugin/route.js"
import { Introspection } from "../../services/introspection.js"
import { coreRateLimits } from "../../services/rate-limit.js"

const IntrospectionJson = Schema.Struct({
  active: Schema.Boolean,
  token_type: Schema.optional(Schema.Literal("session", "api_key")),
  user_id: Schema.optional(Schema.String),
  app_id: Schema.optional(Schema.String),
  env_id: Schema.optional(Schema.String),
  session_id: Schema.optional(Schema.String),
  org_id: Schema.optional(Schema.NullOr(Schema.String)),
  scopes: Schema.optional(Schema.Array(Schema.String)),
  expires_at: Schema.optional(Schema.NullOr(Schema.String)),
}).annotations({ identifier: "Introspection" })

export const introspectionRoutes = Effect.gen(function* () {
  const kit = yield* HttpKit
  const introspection = yield* Introspection

  const introspect = publicRoute({
    method: "POST",
    path: "/introspect",
    tag: "Sessions",
    summary: "Is this session token or API key active? (RFC 7662 style)",
    body: Schema.Struct({ token: Schema.String.pipe(Schema.maxLength(1024)) }),
    responses: { 200: { description: "`{active:false}` or the token's subject", schema: IntrospectionJson } },
    handler: (request) =>
      Effect.gen(function* () {
        yield* kit.limitByIp(request, coreRateLimits.introspectIp)
        return json(200, yield* introspection.introspect(request.body.token, request.client))
      }),
  })

  return [introspect]
})
