/**
 * The one place where a proven identity becomes a session: every sign-in method (password, verification link, and
 * the plugins' social, magic link, passkey, ...) ends here, so bans and plugin gates (MFA) apply to all of them.
 */
import { Clock, Effect } from "effect"
import { UserBanned } from "../domain/errors.js"
import type * as M from "../domain/models.js"
import type { ClientContext } from "./context.js"
import { PluginRegistry, type SignInProof } from "./plugin-registry.js"
import { Sessions } from "./sessions.js"

export class SignIn extends Effect.Service<SignIn>()("authsome/SignIn", {
  effect: Effect.gen(function* () {
    const sessions = yield* Sessions
    const plugins = yield* PluginRegistry

    /** Fails with `UserBanned` while a ban is in force (an expired ban no longer counts). */
    const ensureNotBanned = (user: M.User) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        user.banned && (user.banExpires === null || user.banExpires.getTime() > now)
          ? Effect.fail(new UserBanned({ banExpires: user.banExpires }))
          : Effect.void,
      )

    /**
     * Issues a session for `user`, who has just proven their identity by `method` (and `proof.secondFactor`, if
     * any); the session and its `auth.signin` event are written together (one statement on PostgreSQL).
     *
     * A plugin gate may refuse (e.g. `mfa_required`): call this after committing the user's creation, so that a
     * refusal never undoes an account.
     */
    const complete = (user: M.User, client: ClientContext, method: string, proof: SignInProof = {}) =>
      Effect.gen(function* () {
        yield* ensureNotBanned(user)
        for (const hooks of yield* plugins.hooks)
          if (hooks.beforeSignIn) yield* hooks.beforeSignIn(user, client, method, proof)
        const metadata = proof.secondFactor === undefined ? { method } : { method, second_factor: proof.secondFactor }
        return yield* sessions.issue(user, client, { event: { type: "auth.signin", userId: user.id, metadata } })
      })

    return { complete, ensureNotBanned } as const
  }),
}) {}
