/**
 * The engine, as the design card's named layers, each built on the one before:
 *
 *   store (`PostgresStore.layer` over `Pg.layer`, or `MemoryStore.layer`)
 *     → `Migrator.layer(groups)`            every pending migration, core and plugins, in one run
 *     → `AuthsomeServices.layer(options)`   configuration, core services, each plugin's layer, the mail dispatcher
 *     → `AuthsomeHttp.layer(options)`       routes, the request pipeline, the OpenAPI document
 *
 * `Authsome.layer(options)` is that whole chain in one call; closing its scope stops the engine (the dispatcher, the
 * pool). Building it migrates, so a server built on it opens its port after the migrations. It builds the services
 * and the routes while the migrations run (no service, core or plugin, touches the database while it is built), and
 * starts what does (the default app, `onStart` hooks, the dispatchers, housekeeping) once both are done.
 */
import type { HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Context, Effect, Layer } from "effect"
import type { AuthsomeConfigInput, InvalidConfig, ResolvedConfig } from "./config.js"
import type * as M from "./domain/models.js"
import { toHttpApp } from "./http/adapters.js"
import { type RequestLogEntry, makePipeline } from "./http/app.js"
import { coreErrors, makeErrorResponder } from "./http/errors.js"
import type { ApiRequest, ApiResponse } from "./http/message.js"
import { makeOpenApi } from "./http/openapi.js"
import { accountRoutes } from "./http/routes/account.js"
import { adminRoutes } from "./http/routes/admin.js"
import { apiKeyRoutes } from "./http/routes/api-keys.js"
import { appRoutes } from "./http/routes/apps.js"
import { deviceRoutes } from "./http/routes/devices.js"
import { introspectionRoutes } from "./http/routes/introspection.js"
import { metaRoutes } from "./http/routes/meta.js"
import { rbacRoutes } from "./http/routes/rbac.js"
import { sessionRoutes } from "./http/routes/sessions.js"
import { webhookRoutes } from "./http/routes/webhooks.js"
import type { StoreBackend } from "./layers/backend.js"
import { InvalidMigrationGroups } from "./migrations/runner.js"
import { type MigrationError, Migrator } from "./migrations/migrator.js"
import type { MigrationGroup } from "./migrations/types.js"
import { HttpKit } from "./plugin/kit.js"
import type { AnyPlugin, CoreServices, EngineServices, PluginErrors, PluginServices } from "./plugin/plugin.js"
import type { Route } from "./plugin/route.js"
import { Accounts } from "./services/accounts.js"
import { Admin } from "./services/admin.js"
import { Apps } from "./services/apps.js"
import { ApiKeys } from "./services/api-keys.js"
import { Audit } from "./services/audit.js"
import { Authorization } from "./services/authorization.js"
import { Background } from "./services/background.js"
import { AuthConfig } from "./services/config.js"
import { Devices } from "./services/devices.js"
import { Events } from "./services/events.js"
import { Housekeeping } from "./services/housekeeping.js"
import { Introspection } from "./services/introspection.js"
import { type InvalidSmtpUrl, MailDispatcher, Mailer, MailQueue } from "./services/mail/index.js"
import { PluginRegistry } from "./services/plugin-registry.js"
import { RateLimiter } from "./services/rate-limit.js"
import { Roles } from "./services/roles.js"
import { RequestActivity } from "./services/request-activity.js"
import { SecretBox } from "./services/secrets.js"
import { Sessions } from "./services/sessions.js"
import { SignIn } from "./services/sign-in.js"
import { SignUpForms } from "./services/signup-form.js"
import { BrandingStore, type StoreServices } from "./services/store/index.js"
import { Tenancy } from "./services/tenancy.js"
import { WebhookDispatcher, Webhooks, WebhookWakeUp } from "./services/webhooks/index.js"
import type { OrganizationId } from "./domain/ids.js"
import { makePages } from "./ui/server.js"
import { version } from "./version.js"

export { version } from "./version.js"

/** What `Authsome.layer` takes: the configuration (`AuthsomeConfig`) plus what is not configuration. */
export interface AuthsomeOptions<P extends ReadonlyArray<AnyPlugin> = ReadonlyArray<AnyPlugin>>
  extends AuthsomeConfigInput {
  /** Sign-in methods and features, e.g. `[Password.plugin()]`. */
  readonly plugins?: P
  /**
   * The host's own mailer (any `Mailer` layer). Used when `mail.smtpUrl` is not set; without either, mail is
   * written to the log (development).
   */
  readonly mailer?: Layer.Layer<Mailer>
  /**
   * Receives one entry per request. Default: `Effect.logInfo("request")` with the entry as annotations (the host's
   * logger decides). The standalone server writes the line itself, which is far cheaper on the hot path.
   */
  readonly requestLog?: (entry: RequestLogEntry) => void
}

const configOf = (options: AuthsomeOptions): AuthsomeConfigInput => {
  const { plugins: _plugins, mailer: _mailer, requestLog: _requestLog, ...config } = options
  return config
}

/** The migration groups of the plugins (the core group is always run by the `Migrator`). */
export const migrationGroups = (plugins: ReadonlyArray<AnyPlugin>): ReadonlyArray<MigrationGroup> =>
  plugins.flatMap((plugin) => (plugin.migrations ? [plugin.migrations] : []))

// --- services ------------------------------------------------------------------------------------------------------

const coreServices = Layer.merge(Admin.Default, Apps.Default).pipe(
  Layer.provideMerge(
    Layer.mergeAll(
      SignIn.Default,
      Accounts.Default,
      Introspection.Default,
      HttpKit.Default,
      Roles.Default,
      Housekeeping.Default,
      Webhooks.Default,
    ),
  ),
  Layer.provideMerge(ApiKeys.Default),
  Layer.provideMerge(Sessions.Default),
  Layer.provideMerge(Events.Default),
  Layer.provideMerge(
    Layer.mergeAll(
      Audit.Default,
      Authorization.Default,
      Background.Default,
      Devices.Default,
      RateLimiter.Default,
      Tenancy.Default,
      MailQueue.Default,
      PluginRegistry.Default,
      SignUpForms.Default,
      RequestActivity.Default,
    ),
  ),
  Layer.provideMerge(SecretBox.Default),
)

/** SMTP when configured, else the host's mailer, else the log mailer (development). */
const mailerLayer = (hostMailer: Layer.Layer<Mailer> | undefined) =>
  Layer.unwrapEffect(
    Effect.map(AuthConfig, (config) =>
      config.mail.smtpUrl ? Mailer.smtp(config.mail.smtpUrl, config.mail.from) : (hostMailer ?? Mailer.log),
    ),
  )

const dispatcherLayer = (hostMailer: Layer.Layer<Mailer> | undefined) =>
  Layer.unwrapEffect(Effect.map(AuthConfig, (config) => MailDispatcher.layer(config.mail.dispatcher))).pipe(
    Layer.provide(mailerLayer(hostMailer)),
  )

/** Webhook deliveries, in the background (sharing `Events`' wake-up signal). */
const webhookDispatcherLayer = WebhookDispatcher.layer.pipe(Layer.provide(WebhookWakeUp.Default))

/** The pruning of expired rows, in the background. */
const housekeepingLayer = Layer.unwrapEffect(
  Effect.map(AuthConfig, (config) => Housekeeping.layer(config.housekeeping.interval)),
)

/** Each plugin's layer, with its hooks registered once it is built. */
const pluginLayer = (plugin: AnyPlugin): Layer.Layer<any, any, CoreServices> => {
  const services = (plugin.layer ?? Layer.empty) as Layer.Layer<any, any, CoreServices>
  const register = Layer.effectDiscard(
    Effect.flatMap(PluginRegistry, (registry) =>
      Effect.flatMap(plugin.hooks ?? Effect.succeed({}), (hooks) => registry.register(plugin.name, hooks)),
    ),
  ).pipe(Layer.provide(services))
  return Layer.merge(services, register)
}

/** The default app exists, then every plugin's `onStart` runs. */
const startup = Layer.effectDiscard(
  Effect.gen(function* () {
    yield* (yield* Tenancy).defaultApp
    for (const hooks of yield* (yield* PluginRegistry).hooks) if (hooks.onStart) yield* hooks.onStart
  }),
)

/** The migrator in context must have run every plugin's group (a missing one would leave its tables absent). */
const requireMigrated = (plugins: ReadonlyArray<AnyPlugin>) =>
  Layer.effectDiscard(
    Effect.flatMap(Migrator, (migrator) => {
      const migrated = new Set(migrator.groups.map((group) => group.name))
      const missing = migrationGroups(plugins).filter((group) => !migrated.has(group.name))
      return missing.length === 0
        ? Effect.void
        : Effect.fail(
            new InvalidMigrationGroups({
              message: `the Migrator does not run ${missing.map((group) => group.name).join(", ")}`,
            }),
          )
    }),
  )

/**
 * The configuration, the core services and each plugin's services and stores: built without reading the database
 * (no service reads at construction), so `Authsome.layer` builds them while the migrations run.
 */
const constructedServices = (options: AuthsomeOptions) => {
  let withPlugins = Layer.empty as unknown as Layer.Layer<any, any, CoreServices>
  for (const plugin of options.plugins ?? []) withPlugins = Layer.merge(withPlugins, pluginLayer(plugin))
  return withPlugins.pipe(
    Layer.provideMerge(coreServices),
    Layer.provideMerge(AuthConfig.layer(configOf(options))),
  ) as Layer.Layer<any, any, any>
}

/**
 * What runs on the migrated database (build it after `requireMigrated`): the mail and webhook dispatchers and the
 * housekeeping, then the default app and every plugin's `onStart`.
 */
const runningServices = (options: AuthsomeOptions) =>
  startup.pipe(
    Layer.provideMerge(Layer.mergeAll(dispatcherLayer(options.mailer), webhookDispatcherLayer, housekeepingLayer)),
  ) as Layer.Layer<never, any, any>

export const AuthsomeServices = {
  /**
   * The configuration, the core services, each plugin's services and stores, and the mail dispatcher, on a store
   * and a `Migrator` that has run (`Migrator.layer(migrationGroups(plugins))`).
   */
  layer: <const P extends ReadonlyArray<AnyPlugin> = readonly []>(
    options: AuthsomeOptions<P> = {},
  ): Layer.Layer<
    EngineServices | PluginServices<P>,
    InvalidConfig | InvalidSmtpUrl | InvalidMigrationGroups | PluginErrors<P>,
    StoreServices | StoreBackend | Migrator
  > =>
    runningServices(options).pipe(
      Layer.provideMerge(constructedServices(options)),
      Layer.provideMerge(requireMigrated(options.plugins ?? [])),
    ),
}

// --- HTTP ----------------------------------------------------------------------------------------------------------

export interface AuthsomeHttpShape {
  readonly basePath: string
  readonly routes: ReadonlyArray<Route>
  readonly openApi: ReturnType<typeof makeOpenApi>
  /** Every route under `basePath`, as an Effect HTTP app (mount it in an Effect server, or convert it). */
  readonly httpApp: Effect.Effect<HttpServerResponse.HttpServerResponse, never, HttpServerRequest.HttpServerRequest>
  /**
   * The pipeline itself, on server-neutral messages (what the Node and web adapters call): the API under `basePath`
   * and, when `ui.enabled`, the hosted pages under the path of `publicUrl`.
   */
  readonly handle: (request: ApiRequest) => Effect.Effect<ApiResponse>
  /** Whether a request path (and query) is one of the hosted pages (false when they are off). */
  readonly isPage: (url: string) => boolean
}

export class AuthsomeHttp extends Context.Tag("authsome/AuthsomeHttp")<AuthsomeHttp, AuthsomeHttpShape>() {
  /** The core routes and every plugin's, the pipeline serving them, and the OpenAPI document of them all. */
  static readonly layer = <const P extends ReadonlyArray<AnyPlugin> = readonly []>(
    options: Pick<AuthsomeOptions<P>, "plugins" | "requestLog"> = {},
  ): Layer.Layer<AuthsomeHttp, never, CoreServices | PluginServices<P>> =>
    Layer.effect(
      AuthsomeHttp,
      Effect.gen(function* () {
        const plugins: ReadonlyArray<AnyPlugin> = options.plugins ?? []
        const config = yield* AuthConfig
        const routes: Array<Route> = [
          ...(yield* sessionRoutes),
          ...(yield* accountRoutes),
          ...(yield* deviceRoutes),
          ...(yield* introspectionRoutes),
          ...(yield* rbacRoutes),
          ...(yield* apiKeyRoutes),
          ...(yield* webhookRoutes),
          ...(yield* adminRoutes),
          ...(yield* appRoutes),
        ]
        for (const plugin of plugins) if (plugin.routes) routes.push(...(yield* plugin.routes))
        const errors = makeErrorResponder([...coreErrors, ...plugins.flatMap((plugin) => plugin.errors ?? [])])
        // Made at its first request, not at start-up (it is a tenth of the start-up time), from every route.
        let document: ReturnType<typeof makeOpenApi> | undefined
        const openApi = () => {
          document ??= makeOpenApi(routes, errors.declarations, { basePath: config.basePath, version })
          return document
        }
        routes.push(...(yield* metaRoutes(openApi)))
        const pipelineDeps = {
          config,
          tenancy: yield* Tenancy,
          sessions: yield* Sessions,
          apiKeys: yield* ApiKeys,
          authorization: yield* Authorization,
          activity: yield* RequestActivity,
          errors,
        }
        const api = makePipeline(routes, { ...pipelineDeps, requestLog: options.requestLog })
        if (!config.ui.enabled) {
          return {
            basePath: config.basePath,
            routes,
            get openApi() {
              return openApi()
            },
            handle: api,
            isPage: () => false,
            httpApp: toHttpApp(api),
          }
        }
        const pages = yield* uiPages(config, makePipeline(routes, { ...pipelineDeps, requestLog: () => {} }), options)
        const inApi = (url: string) => {
          const path = url.split("?", 1)[0]!
          return path === config.basePath || path.startsWith(`${config.basePath}/`)
        }
        // Mounted under a host's path, everything there is the API's; unmounted, the pages take their own paths.
        const handle = (request: ApiRequest) =>
          request.mountPath === undefined && !inApi(request.url) && pages.owns(request.url)
            ? pages.serve(request)
            : api(request)
        return {
          basePath: config.basePath,
          routes,
          get openApi() {
            return openApi()
          },
          handle,
          isPage: pages.owns,
          httpApp: toHttpApp(handle),
        }
      }),
    ) as Layer.Layer<AuthsomeHttp, never, any>
}

/** The hosted pages on the API (called in-process), branded with the app's name or an organization's branding. */
const uiPages = (
  config: ResolvedConfig,
  api: (request: ApiRequest) => Effect.Effect<ApiResponse>,
  options: Pick<AuthsomeOptions, "requestLog">,
) =>
  Effect.gen(function* () {
    if (config.publicUrl === undefined) {
      yield* Effect.logWarning("the hosted pages need publicUrl: its origin is the one their forms are accepted from")
    }
    // Read at the first page (cached): the routes are built before the default app exists (during the migrations).
    const appBrand = Effect.map((yield* Tenancy).defaultApp, (defaultApp) => ({
      name: config.mail.appName ?? defaultApp.name,
      logoUrl: null,
      primaryColor: null,
    }))
    const branding = yield* BrandingStore
    return makePages({
      config,
      api,
      requestLog: options.requestLog,
      brand: (orgId) =>
        orgId === null
          ? appBrand
          : Effect.flatMap(appBrand, (brand) =>
              branding.get(orgId as OrganizationId).pipe(
                Effect.map((found) => ({
                  name: found.companyName ?? brand.name,
                  logoUrl: found.logoUrl,
                  primaryColor: found.primaryColor,
                })),
                Effect.orElseSucceed(() => brand),
              ),
            ),
    })
  })

// --- the whole engine ----------------------------------------------------------------------------------------------

export interface AuthsomeShape extends AuthsomeHttpShape {
  readonly config: ResolvedConfig
  readonly defaultApp: M.App
  /** The mounted plugins' names. */
  readonly plugins: ReadonlyArray<string>
}

export class Authsome extends Context.Tag("authsome/Authsome")<Authsome, AuthsomeShape>() {
  /**
   * The engine on a store (`PostgresStore.layer` on an `SqlClient`, or `MemoryStore.layer`): migrations, services,
   * HTTP. Everything it builds — the core services, each plugin's services, the stores, the `Migrator` — is in its
   * output, for use without HTTP.
   */
  static layer<const P extends ReadonlyArray<AnyPlugin> = readonly []>(
    options: AuthsomeOptions<P> = {},
  ): Layer.Layer<
    Authsome | AuthsomeHttp | EngineServices | PluginServices<P> | Migrator | StoreServices | StoreBackend,
    InvalidConfig | InvalidSmtpUrl | MigrationError | PluginErrors<P>,
    StoreServices | StoreBackend
  > {
    const plugins: ReadonlyArray<AnyPlugin> = options.plugins ?? []
    const facade = Layer.effect(
      Authsome,
      Effect.gen(function* () {
        const http = yield* AuthsomeHttp
        return {
          basePath: http.basePath,
          routes: http.routes,
          // A getter, as on AuthsomeHttp: spreading would make the OpenAPI document at start-up.
          get openApi() {
            return http.openApi
          },
          httpApp: http.httpApp,
          handle: http.handle,
          isPage: http.isPage,
          config: yield* AuthConfig,
          defaultApp: yield* (yield* Tenancy).defaultApp,
          plugins: plugins.map((plugin) => plugin.name),
        }
      }),
    )
    // The migrations' DDL runs in the database while the services and the routes are built (a third of an empty
    // start); what reads or writes the database starts once both are done.
    const built = Layer.merge(
      AuthsomeHttp.layer(options).pipe(Layer.provideMerge(constructedServices(options))),
      Migrator.layer(migrationGroups(plugins)),
    )
    return facade.pipe(
      Layer.provideMerge(runningServices(options)),
      Layer.provideMerge(requireMigrated(plugins)),
      Layer.provideMerge(built),
      Layer.passthrough,
    ) as Layer.Layer<any, any, any>
  }
}
