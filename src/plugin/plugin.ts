/**
 * Plugins: one value bundling a sign-in method's (or feature's) name, migration group, services and stores, HTTP
 * routes, declared errors and hooks. The engine composes them without knowing any: the migration group joins the one
 * migration run, the layer is built on the core services, the routes are mounted under the base path and appear in
 * `/openapi.json`, and the errors are answered with the envelope they declare.
 */
import type { Effect, Layer } from "effect"
import type { StoreBackend } from "../layers/backend.js"
import type { MigrationGroup } from "../migrations/types.js"
import type { Accounts } from "../services/accounts.js"
import type { Admin } from "../services/admin.js"
import type { Apps } from "../services/apps.js"
import type { ApiKeys } from "../services/api-keys.js"
import type { Audit } from "../services/audit.js"
import type { Authorization } from "../services/authorization.js"
import type { Background } from "../services/background.js"
import type { AuthConfig } from "../services/config.js"
import type { Devices } from "../services/devices.js"
import type { Events } from "../services/events.js"
import type { Housekeeping } from "../services/housekeeping.js"
import type { Introspection } from "../services/introspection.js"
import type { MailQueue } from "../services/mail/queue.js"
import type { PluginHooks, PluginRegistry } from "../services/plugin-registry.js"
import type { RateLimiter } from "../services/rate-limit.js"
import type { RequestActivity } from "../services/request-activity.js"
import type { Roles } from "../services/roles.js"
import type { SecretBox } from "../services/secrets.js"
import type { Sessions } from "../services/sessions.js"
import type { SignIn } from "../services/sign-in.js"
import type { SignUpForms } from "../services/signup-form.js"
import type { StoreServices } from "../services/store/index.js"
import type { Tenancy } from "../services/tenancy.js"
import type { Webhooks } from "../services/webhooks/service.js"
import type { ErrorDeclaration } from "./errors.js"
import type { HttpKit } from "./kit.js"
import type { Route } from "./route.js"

export type { PluginHooks, SignInProof } from "../services/plugin-registry.js"

/** The services the engine builds on the store. */
export type EngineServices =
  | AuthConfig
  | Tenancy
  | Audit
  | Authorization
  | Roles
  | ApiKeys
  | Background
  | RateLimiter
  | Devices
  | Sessions
  | SignIn
  | Accounts
  | Introspection
  | Events
  | Housekeeping
  | MailQueue
  | PluginRegistry
  | SecretBox
  | HttpKit
  | Webhooks
  | RequestActivity
  | Admin
  | Apps
  | SignUpForms

/** Everything a plugin can build on: the stores, the backend they run on, and the engine's services. */
export type CoreServices = StoreServices | StoreBackend | EngineServices

export interface Plugin<Services = never, E = never> {
  /** Unique among the mounted plugins; listed in `GET /client-config` as `supported_plugins`. */
  readonly name: string
  /** The plugin's tables, merged into the engine's single migration run. */
  readonly migrations?: MigrationGroup | undefined
  /**
   * The plugin's stores and services, built on the core services. `Authsome.layer` builds it while the migrations
   * run, so building it must not read or write the database (its tables may not exist yet): start-time work on the
   * database belongs in the `onStart` hook.
   */
  readonly layer?: Layer.Layer<Services, E, CoreServices> | undefined
  readonly routes?: Effect.Effect<ReadonlyArray<Route>, never, Services | CoreServices> | undefined
  readonly hooks?: Effect.Effect<PluginHooks, never, Services | CoreServices> | undefined
  /** How the plugin's own errors are answered (and documented). */
  readonly errors?: ReadonlyArray<ErrorDeclaration> | undefined
}

export type AnyPlugin = Plugin<any, any>

/** The services a list of plugins adds. */
export type PluginServices<P extends ReadonlyArray<AnyPlugin>> = P[number] extends infer Each
  ? Each extends Plugin<infer S, any>
    ? S
    : never
  : never

/** The errors building a list of plugins can fail with. */
export type PluginErrors<P extends ReadonlyArray<AnyPlugin>> = P[number] extends infer Each
  ? Each extends Plugin<any, infer E>
    ? E
    : never
  : never

/** Checks a plugin's types (its routes and hooks may use its own services and the core's). */
export const definePlugin = <Services = never, E = never>(plugin: Plugin<Services, E>): Plugin<Services, E> => plugin
