/**
 * Routes about the server itself: health, the client configuration, the OpenAPI document and its reference page
 * (Swagger UI, its assets served from the installed `swagger-ui-dist`, never from a CDN).
 */
import { readFile } from "node:fs/promises"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import { Effect, Option, Schema } from "effect"
import { NotFound } from "../../domain/errors.js"
import { json } from "../../plugin/kit.js"
import { publicRoute } from "../../plugin/route.js"
import { AuthConfig } from "../../services/config.js"
import { PluginRegistry } from "../../services/plugin-registry.js"
import { Store } from "../../services/store/index.js"
import { describeReplica, ReadReplica } from "../../services/store/replica.js"
import { Tenancy } from "../../services/tenancy.js"
import { version } from "../../version.js"
import { text } from "../message.js"
import { HealthJson } from "../schemas.js"

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

const OpenApiJson = Schema.Struct({
  openapi: Schema.String.pipe(Schema.pattern(/^3\.1\.\d+$/)),
  info: Schema.Struct({ title: Schema.String, version: Schema.String }),
  servers: Schema.Array(Schema.Struct({ url: Schema.String })),
  paths: Schema.Record({ key: Schema.String, value: Schema.Record({ key: Schema.String, value: Schema.Unknown }) }),
  components: Schema.Struct({ schemas: Schema.Record({ key: Schema.String, value: Schema.Unknown }) }),
}).annotations({ identifier: "OpenApiDocument" })

/** The reference page's files: Swagger UI's, as installed (1.5 MB, read at the first request for one, not at start). */
const swaggerUi = async () => {
  const root = dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"))
  const read = (file: string) => readFile(join(root, file), "utf8")
  const [css, bundle] = await Promise.all([read("swagger-ui.css"), read("swagger-ui-bundle.js")])
  return {
    "swagger-ui.css": { body: css, type: "text/css; charset=utf-8" },
    "swagger-ui-bundle.js": { body: bundle, type: "text/javascript; charset=utf-8" },
  } as const
}

/** Only this server's own files, nothing inline: Swagger UI's styles need `'unsafe-inline'` for style attributes. */
const docsPolicy =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
  "font-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

/** `document` is read at request time: the OpenAPI document covers these routes too, so it is made after them. */
export const metaRoutes = (document: () => unknown) =>
  Effect.gen(function* () {
    const config = yield* AuthConfig
    const store = yield* Store
    const replica = yield* Effect.serviceOption(ReadReplica)
    const tenancy = yield* Tenancy
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
      summary: "Liveness and database reachability (and the read replica's state, when one is configured)",
      responses: {
        200: { description: "healthy", schema: HealthJson },
        503: { description: "the database is unreachable", schema: HealthJson },
      },
      handler: () =>
        Effect.gen(function* () {
          const ok = yield* store.ping
          // The replica is reported, never decisive: without it reads go to the primary.
          const replicaState = Option.isSome(replica) ? { replica: describeReplica(yield* replica.value.state) } : {}
          return ok
            ? json(200, { status: "healthy", ...replicaState })
            : json(503, { status: "unhealthy", ...replicaState })
        }),
    })

    // Authsome's own clients may name the app in the query (a page cannot always set headers): `?key=` or
    // `?publishable_key=` take the place of the header; an unknown key is 401 either way.
    const clientConfigRoute = publicRoute({
      method: "GET",
      path: "/client-config",
      tag: "Meta",
      summary: "What a sign-in UI should offer for this app",
      query: [
        { name: "key", description: "the app's publishable key (instead of the X-Publishable-Key header)" },
        { name: "publishable_key", description: "the same, under its long name" },
      ],
      responses: { 200: { description: "the app's client configuration", schema: ClientConfigJson } },
      handler: (request) => {
        const key = request.query.get("key") || request.query.get("publishable_key")
        const app = key ? Effect.map(tenancy.resolve(key), (tenant) => tenant.app) : Effect.succeed(request.client.app)
        return Effect.map(app, (resolved) => json(200, { app_id: resolved.id, ...clientConfig }))
      },
    })

    const openApi = publicRoute({
      method: "GET",
      path: "/openapi.json",
      tenantless: true,
      tag: "Meta",
      summary: "This document",
      responses: { 200: { description: "OpenAPI 3.1", schema: OpenApiJson } },
      handler: () => Effect.sync(() => json(200, document())),
    })

    const assets = yield* Effect.cached(Effect.promise(swaggerUi))
    const page = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Authsome API reference</title>
<link rel="stylesheet" href="${config.basePath}/docs/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="${config.basePath}/docs/swagger-ui-bundle.js"></script>
<script src="${config.basePath}/docs/start.js"></script>
</body>
</html>
`
    const start = `window.ui = SwaggerUIBundle(${JSON.stringify({
      url: `${config.basePath}/openapi.json`,
      dom_id: "#swagger-ui",
      deepLinking: true,
    })})
`

    const docs = publicRoute({
      method: "GET",
      path: "/docs",
      tenantless: true,
      undocumented: true,
      tag: "Meta",
      summary: "The API reference (this document, rendered)",
      responses: { 200: { description: "an HTML page" } },
      handler: () =>
        Effect.succeed(text(200, page, "text/html; charset=utf-8", { "content-security-policy": docsPolicy })),
    })

    const docsAsset = publicRoute({
      method: "GET",
      path: "/docs/:file",
      tenantless: true,
      undocumented: true,
      tag: "Meta",
      summary: "The reference page's files",
      responses: { 200: { description: "a style sheet or a script" } },
      handler: (request) => {
        const file = request.params["file"]
        const asset =
          file === "start.js"
            ? Effect.succeed({ body: start, type: "text/javascript; charset=utf-8" })
            : file === "swagger-ui.css" || file === "swagger-ui-bundle.js"
              ? Effect.map(assets, (files) => files[file])
              : Effect.fail(new NotFound({ entity: "file" }))
        return Effect.map(asset, ({ body, type }) => text(200, body, type, { "content-security-policy": docsPolicy }))
      },
    })

    return [health, clientConfigRoute, openApi, docs, docsAsset]
  })
