/** Routes about the server itself: health, the client configuration and the OpenAPI document. */
import { Effect, Schema } from "effect"
import { json } from "../../plugin/kit.js"
import { publicRoute } from "../../plugin/route.js"
import { AuthConfig } from "../../services/config.js"
import { PluginRegistry } from "../../services/plugin-registry.js"
import { Store } from "../../services/store/index.js"
import { version } from "../../version.js"
import { StatusJson } from "../schemas.js"

/**
 * The contract's `/client-config` shape (http-api.md §3): every sign-in method key, off until a mounted plugin
 * turns it on with its `clientConfig` hook.
 */
const clientConfigContract = {
  password: { enabled: false },
  social: { enabled: false, providers: [] as ReadonlyArray<unknown> },
  mfa: { enabled: false, methods: [] as ReadonlyArray<string> },
  passkey: { enabled: false },
  magic_link: { enabled: false },
}

const ClientConfigJson = Schema.Struct({
  app_id: Schema.String,
  version: Schema.String,
  supported_plugins: Schema.Array(Schema.String),
  signup_enabled: Schema.Boolean,
  password: Schema.Struct({ enabled: Schema.Boolean }),
  email_verification: Schema.Struct({ required: Schema.Boolean }),
  social: Schema.Struct({
    enabled: Schema.Boolean,
    providers: Schema.Array(Schema.Struct({ id: Schema.String, name: Schema.String })),
  }),
  mfa: Schema.Struct({ enabled: Schema.Boolean, methods: Schema.Array(Schema.String) }),
  passkey: Schema.Struct({ enabled: Schema.Boolean }),
  magic_link: Schema.Struct({ enabled: Schema.Boolean }),
}).annotations({ identifier: "ClientConfig" })

/** `document` is read at request time: the OpenAPI document covers these routes too, so it is made after them. */
export const metaRoutes = (document: () => unknown) =>
  Effect.gen(function* () {
    const config = yield* AuthConfig
    const store = yield* Store
    const registry = yield* PluginRegistry
    const plugins = yield* registry.all

    const clientConfig = Object.assign(
      {
        version,
        supported_plugins: plugins.map((plugin) => plugin.name),
        signup_enabled: config.signupEnabled,
        email_verification: { required: config.emailVerification.required },
      },
      clientConfigContract,
      ...plugins.map((plugin) => plugin.hooks.clientConfig ?? {}),
    )

    const health = publicRoute({
      method: "GET",
      path: "/health",
      tenantless: true,
      tag: "Meta",
      summary: "Liveness and database reachability",
      responses: {
        200: { description: "healthy", schema: StatusJson },
        503: { description: "the database is unreachable", schema: StatusJson },
      },
      handler: () =>
        Effect.map(store.ping, (ok) => (ok ? json(200, { status: "healthy" }) : json(503, { status: "unhealthy" }))),
    })

    const clientConfigRoute = publicRoute({
      method: "GET",
      path: "/client-config",
      tag: "Meta",
      summary: "What a sign-in UI should offer for this app",
      responses: { 200: { description: "the app's client configuration", schema: ClientConfigJson } },
      handler: (request) => Effect.succeed(json(200, { app_id: request.client.app.id, ...clientConfig })),
    })

    const openApi = publicRoute({
      method: "GET",
      path: "/openapi.json",
      tenantless: true,
      tag: "Meta",
      summary: "This document",
      responses: { 200: { description: "OpenAPI 3.1" } },
      handler: () => Effect.sync(() => json(200, document())),
    })

    return [health, clientConfigRoute, openApi]
  })
