/**
 * The plugins' hooks, registered as each plugin's layer is built, and read by the core where they apply (sign-in
 * gates, data export, client configuration, start-up). Core services never import a plugin.
 */
import { Effect, Ref } from "effect"
import type * as M from "../domain/models.js"
import type { ClientContext } from "./context.js"

/** What a sign-in proved beyond the user's identity (`SignIn.complete`'s last argument). */
export interface SignInProof {
  /**
   * The second factor the sign-in already proved, e.g. `"totp"` (a completed MFA challenge) or
   * `"user_verification"` (a passkey verified by PIN or biometrics): gates asking for a second factor let it pass.
   */
  readonly secondFactor?: string
}

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
    proof: SignInProof,
  ) => Effect.Effect<void, { readonly _tag: string }>
  /**
   * Whether the user holds a credential of this plugin's sign-in method (a password, a linked provider account, a
   * passkey). Asked before a method is removed, so that none removes the user's last way to sign in.
   */
  readonly userHasSignInMethod?: (user: M.User) => Effect.Effect<boolean>
  /**
   * Runs when another method (a magic link) proves the address of a user who had not verified it. What was set on
   * the account before anyone proved the address — a password chosen at sign-up — must not take effect then: it may
   * be an attacker's, who registered the address first (pre-hijacking). Runs in the verifying transaction.
   */
  readonly revokeUnprovenCredentials?: (user: M.User) => Effect.Effect<void>
  /**
   * Creates the account of a pending sign-up this plugin started (`Accounts.startSignUp` with `method` = its name),
   * once the code or link mailed for it is used: from `signup.data`, with id `signup.userId`, in the caller's
   * transaction. The email is verified.
   */
  readonly completeSignUp?: (
    signup: M.PendingSignUp & { readonly email: string },
    client: ClientContext,
  ) => Effect.Effect<M.User, { readonly _tag: string }>
  /**
   * For an administrator making an account with a password (`POST /admin/users`): checks the password against the
   * policy and hashes it (slow: before any transaction), and returns the write that stores it for the new user, to
   * run in the account's transaction.
   */
  readonly preparePassword?: (
    email: string,
    password: string,
  ) => Effect.Effect<(user: M.User) => Effect.Effect<void>, { readonly _tag: string }>
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
    /** Whether a plugin other than `except` still lets the user sign in (see `userHasSignInMethod`). */
    const hasSignInMethodBesides = (user: M.User, except: string) =>
      Effect.flatMap(all, (list) =>
        Effect.exists(
          list.filter((plugin) => plugin.name !== except),
          (plugin) => plugin.hooks.userHasSignInMethod?.(user) ?? Effect.succeed(false),
        ),
      )
    /** Every plugin's `revokeUnprovenCredentials`, in turn. */
    const revokeUnprovenCredentials = (user: M.User) =>
      Effect.flatMap(hooks, (list) =>
        Effect.forEach(list, (hook) => hook.revokeUnprovenCredentials?.(user) ?? Effect.void, { discard: true }),
      )
    return { register, all, hooks, exportUserData, hasSignInMethodBesides, revokeUnprovenCredentials } as const
  }),
}) {}
