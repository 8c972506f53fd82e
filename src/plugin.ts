/**
 * Plugins: one value bundling a sign-in method's (or feature's) name, migration group, services, HTTP routes and
 * lifecycle hooks. The engine merges them without knowing any plugin: migrations run in the one orchestrator run,
 * the layer is built on the core services, routes are mounted under the base path and appear in /openapi.json.
 */
import type { Effect, Layer } from "effect"
import type { ClientContext } from "./services/context.js"
import type { Forbidden, MfaRequired } from "./domain/errors.js"
import type { MigrationGroup } from "./migrations/types.js"
import type * as M from "./domain/models.js"
import type { Route } from "./http/route.js"
import type { CoreServices } from "./engine-services.js"

export interface PluginHooks {
  /** Runs once at start, after migrations and the default app's bootstrap. */
  readonly onStart?: Effect.Effect<void>
  /**
   * Runs before any sign-in issues a session (password, verification link, social, magic link, ...). May refuse
   * with `MfaRequired` (a second factor is due) or `Forbidden`.
   */
  readonly beforeSignIn?: (
    user: M.User,
    client: ClientContext,
    method: string,
  ) => Effect.Effect<void, MfaRequired | Forbidden>
  /** Adds this plugin's data about the user to `GET /me/export`. */
  readonly exportUserData?: (user: M.User) => Effect.Effect<Record<string, unknown>>
  /** Adds this plugin's part to `GET /client-config` (e.g. `{ password: { enabled: true } }`). */
  readonly clientConfig?: Record<string, unknown>
}

export interface Plugin<ROut = any> {
  readonly name: string
  /** The plugin's tables, merged into the engine's single migration run. */
  readonly migrations: MigrationGroup | undefined
  /** The plugin's own services, built on the core services. */
  readonly layer: Layer.Layer<ROut, never, CoreServices>
  readonly routes: Effect.Effect<ReadonlyArray<Route>, never, ROut | CoreServices>
  readonly hooks: Effect.Effect<PluginHooks, never, ROut | CoreServices>
}

export const definePlugin = <ROut>(plugin: Plugin<ROut>): Plugin => plugin as Plugin
