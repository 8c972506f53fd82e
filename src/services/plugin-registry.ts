/**
 * The plugins' hooks, registered as each plugin's layer is built, and read by the core where they apply (sign-in
 * gates, data export, client configuration, start-up). Core services never import a plugin.
 */
import { Effect, Ref } from "effect"
import type * as M from "../domain/models.js"
import type { ClientContext } from "./context.js"

export interface PluginHooks {
  /** Runs once at start, after migrations and the default app's bootstrap. */
  readonly onStart?: Effect.Effect<void>
  /**
   * Runs before any sign-in issues a session (password, verification link, social, magic link, ...). May refuse
   * with any declared error (a second factor is due, a policy forbids it).
   */
  readonly beforeSignIn?: (
    user: M.User,
    client: ClientContext,
    method: string,
  ) => Effect.Effect<void, { readonly _tag: string }>
  /**
   * Creates the account of a pending sign-up this plugin started (`Accounts.startSignUp` with `method` = its name),
   * once the code or link mailed for it is used: from `signup.data`, with id `signup.userId`, in the caller's
   * transaction. The email is verified.
   */
  readonly completeSignUp?: (
    signup: M.PendingSignUp & { readonly email: string },
    client: ClientContext,
  ) => Effect.Effect<M.User, { readonly _tag: string }>
  /** Adds this plugin's data about the user to `GET /me/export`. */
  readonly exportUserData?: (user: M.User) => Effect.Effect<Record<string, unknown>>
  /** Adds this plugin's part to `GET /client-config` (e.g. `{ password: { enabled: true } }`). */
  readonly clientConfig?: Record<string, unknown>
}

export interface RegisteredPlugin {
  readonly name: string
  readonly hooks: PluginHooks
}

export class PluginRegistry extends Effect.Service<PluginRegistry>()("authsome/PluginRegistry", {
  effect: Effect.gen(function* () {
    const plugins = yield* Ref.make<ReadonlyArray<RegisteredPlugin>>([])
    const register = (name: string, hooks: PluginHooks) => Ref.update(plugins, (all) => [...all, { name, hooks }])
    const all = Ref.get(plugins)
    const hooks = Effect.map(all, (list) => list.map((plugin) => plugin.hooks))
    /** Every plugin's contribution to the user's data export, merged. */
    const exportUserData = (user: M.User) =>
      Effect.flatMap(hooks, (list) =>
        Effect.reduce(list, {} as Record<string, unknown>, (acc, hook) =>
          hook.exportUserData
            ? Effect.map(hook.exportUserData(user), (part) => ({ ...acc, ...part }))
            : Effect.succeed(acc),
        ),
      )
    return { register, all, hooks, exportUserData } as const
  }),
}) {}
