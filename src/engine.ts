/**
 * The engine: `Authsome.layer(config)` is the seed's `authsome.New(...)` + `eng.Start(ctx)`. Building it runs every
 * pending migration (core and plugins) in one orchestrator run, bootstraps the default app, builds each plugin on
 * the core services and assembles the HTTP routes; closing its scope is `eng.Stop(ctx)`.
 */
import type { HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Context, Effect, Layer, Option } from "effect"
import type { AuthsomeConfig, ResolvedConfig } from "./config.js"
import type * as M from "./domain/models.js"
import type { CoreServices, EngineServices } from "./engine-services.js"
import { toHttpApp } from "./http/adapters.js"
import { makePipeline } from "./http/app.js"
import type { ApiRequest, ApiResponse } from "./http/message.js"
import { coreRoutes } from "./http/core-routes.js"
import { HttpKit, json } from "./http/kit.js"
import { makeOpenApi } from "./http/openapi.js"
import { publicRoute, type Route } from "./http/route.js"
import type { Plugin, PluginHooks } from "./plugin.js"
import { Accounts } from "./services/accounts.js"
import { Audit } from "./services/audit.js"
import { AuthConfig } from "./services/config.js"
import { Devices } from "./services/devices.js"
import { MailDispatcher, Mailer, MailQueue } from "./services/mail/index.js"
import { RateLimiter } from "./services/rate-limit.js"
import { Sessions } from "./services/sessions.js"
import { PluginRegistry } from "./services/plugin-registry.js"
import { SignIn } from "./services/sign-in.js"
import { Store, type StoreServices } from "./services/store/index.js"
import { Tenancy } from "./services/tenancy.js"

export const version = "0.1.0"

export interface AuthsomeShape {
  readonly config: ResolvedConfig
  readonly defaultApp: M.App
  readonly plugins: ReadonlyArray<string>
  readonly routes: ReadonlyArray<Route>
  readonly openApi: ReturnType<typeof makeOpenApi>
  /** Every route under `basePath`, as an Effect HTTP app (mount it in an Effect server, or convert it). */
  readonly httpApp: Effect.Effect<HttpServerResponse.HttpServerResponse, never, HttpServerRequest.HttpServerRequest>
  /** The pipeline itself, on server-neutral messages (what the Node and web adapters call). */
  readonly handle: (request: ApiRequest) => Effect.Effect<ApiResponse>
}

/** Runs every pending migration of the core and the plugins, before anything touches the tables. */
const migrations = (plugins: ReadonlyArray<Plugin>) =>
  Layer.effectDiscard(
    Effect.flatMap(Store, (store) =>
      store.migrate(...plugins.flatMap((plugin) => (plugin.migrations ? [plugin.migrations] : []))),
    ).pipe(Effect.orDie),
  )

/** SMTP when configured, else a `Mailer` the host provided, else the log mailer (development). */
const mailer = Layer.unwrapEffect(
  Effect.gen(function* () {
    const config = yield* AuthConfig
    if (config.smtpUrl) return Mailer.smtp(config.smtpUrl, config.mailFrom).pipe(Layer.orDie)
    const provided = yield* Effect.serviceOption(Mailer)
    return Option.match(provided, { onNone: () => Mailer.log, onSome: (m) => Layer.succeed(Mailer, m) })
  }),
)

const coreServices = Layer.mergeAll(SignIn.Default, Accounts.Default).pipe(
  Layer.provideMerge(Sessions.Default),
  Layer.provideMerge(
    Layer.mergeAll(
      Audit.Default,
      Devices.Default,
      RateLimiter.Default,
      Tenancy.Default,
      MailQueue.Default,
      HttpKit.Default,
      PluginRegistry.Default,
    ),
  ),
)

export class Authsome extends Context.Tag("authsome/Authsome")<Authsome, AuthsomeShape>() {
  /**
   * The engine on a store (`PostgresStore.layer` on an `SqlClient`, or `MemoryStore.layer`). Also exposes the core
   * services (`Sessions`, `Accounts`, the stores, ...) for use without HTTP.
   */
  static layer(config: AuthsomeConfig = {}): Layer.Layer<Authsome | EngineServices, never, StoreServices> {
    const plugins = config.plugins ?? []
    const dispatcher = Layer.unwrapEffect(
      Effect.map(AuthConfig, (resolved) => MailDispatcher.layer(resolved.mailDispatcher)),
    ).pipe(Layer.provide(mailer))
    return Layer.scoped(Authsome, make(plugins)).pipe(
      Layer.provideMerge(coreServices),
      Layer.provideMerge(dispatcher),
      Layer.provide(migrations(plugins)),
      Layer.provideMerge(AuthConfig.layer(config)),
    )
  }
}

const make = (plugins: ReadonlyArray<Plugin>) =>
  Effect.gen(function* () {
    const config = yield* AuthConfig
    const tenancy = yield* Tenancy
    const sessions = yield* Sessions
    const registry = yield* PluginRegistry
    const core = yield* Effect.context<CoreServices>()
    const defaultApp = yield* tenancy.defaultApp

    const routes: Array<Route> = [...(yield* coreRoutes)]
    const hooks: Array<PluginHooks> = []
    for (const plugin of plugins) {
      const context = yield* Layer.build(plugin.layer).pipe(Effect.provide(core))
      const withPlugin = Context.merge(core, context)
      routes.push(...(yield* Effect.provide(plugin.routes, withPlugin)))
      hooks.push(yield* Effect.provide(plugin.hooks, withPlugin))
    }
    for (const hook of hooks) yield* registry.register(hook)

    const clientConfig = Object.assign(
      {
        signup_enabled: config.signupEnabled,
        password: { enabled: false },
        email_verification: { required: config.emailVerificationRequired },
        social: { enabled: false, providers: [] },
        mfa: { enabled: false, methods: [] },
        passkey: { enabled: false },
        magic_link: { enabled: false },
      },
      ...hooks.map((hook) => hook.clientConfig ?? {}),
    )
    routes.push(
      publicRoute({
        method: "GET",
        path: "/client-config",
        tag: "Core",
        summary: "What a sign-in UI should offer for this app",
        responses: { 200: { description: "the app's client configuration" } },
        handler: (request) => Effect.succeed(json(200, { app_id: request.client.app.id, ...clientConfig })),
      }),
    )
    let openApi = makeOpenApi(routes, { basePath: config.basePath, version })
    const openApiRoute = publicRoute({
      method: "GET",
      path: "/openapi.json",
      tenantless: true,
      tag: "Core",
      summary: "This document",
      responses: { 200: { description: "OpenAPI 3.1" } },
      handler: () => Effect.succeed(json(200, openApi)),
    })
    routes.push(openApiRoute)
    openApi = makeOpenApi(routes, { basePath: config.basePath, version })

    for (const hook of hooks) if (hook.onStart) yield* hook.onStart
    const handle = makePipeline(routes, { config, tenancy, sessions })
    yield* Effect.logDebug("authsome started").pipe(
      Effect.annotateLogs({ app: defaultApp.slug, plugins: plugins.map((p) => p.name).join(",") }),
    )
    return {
      config,
      defaultApp,
      plugins: plugins.map((plugin) => plugin.name),
      routes,
      openApi,
      handle,
      httpApp: toHttpApp(handle),
    } satisfies AuthsomeShape
  })
