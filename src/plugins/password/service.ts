/**
 * The password flows, usable without HTTP: sign-up and sign-in with email (or username) and password, forgotten
 * and changed passwords. Hashes are argon2id PHC strings in `authsome_password_hashes` (the plugin's own table).
 */
import { Clock, Duration, Effect, Option, Redacted } from "effect"
import { EmailNotVerified, EmailTaken, Forbidden, InvalidCode, InvalidCredentials } from "../../domain/errors.js"
import { newId, type UserId } from "../../domain/ids.js"
import type * as M from "../../domain/models.js"
import { Accounts } from "../../services/accounts.js"
import { Audit } from "../../services/audit.js"
import { AuthConfig } from "../../services/config.js"
import type { ClientContext } from "../../services/context.js"
import { randomToken, sha256Hex } from "../../services/crypto.js"
import { MailQueue, passwordResetEmail } from "../../services/mail/index.js"
import { type LockoutSubject, RateLimiter } from "../../services/rate-limit.js"
import { Sessions } from "../../services/sessions.js"
import { SignIn } from "../../services/sign-in.js"
import { PasswordResetStore, RbacStore, Store, UserStore } from "../../services/store/index.js"
import { PasswordHasher } from "./hasher.js"
import { PasswordSettings } from "./options.js"
import { checkPassword } from "./policy.js"
import { PasswordHashStore } from "./store.js"

/** What a sign-up submits. */
export interface SignUpInput {
  readonly email: string
  readonly password: string
  readonly first_name?: string | null | undefined
  readonly last_name?: string | null | undefined
  readonly username?: string | null | undefined
  readonly metadata?: M.Metadata | undefined
}

/** Who signs in: an email or a username, and the password. */
export type SignInInput = ({ readonly email: string } | { readonly username: string }) & { readonly password: string }

/** The identifier sign-in limits and lockout count by: the email, or the lower-cased username. */
export const signInIdentifier = (input: SignInInput) => ("email" in input ? input.email : input.username.toLowerCase())

/**
 * Passwords are NFKC-normalised before they are checked or hashed, so the same password typed on keyboards that
 * compose characters differently still matches (NIST SP 800-63B §5.1.1.2).
 */
const secret = (plain: string) => Redacted.make(plain.normalize("NFKC"))

/** The password flows, usable without HTTP. */
export class PasswordAuth extends Effect.Service<PasswordAuth>()("authsome/PasswordAuth", {
  effect: Effect.gen(function* () {
    const config = yield* AuthConfig
    const settings = yield* PasswordSettings
    const store = yield* Store
    const users = yield* UserStore
    const hashes = yield* PasswordHashStore
    const resets = yield* PasswordResetStore
    const rbac = yield* RbacStore
    const hasher = yield* PasswordHasher
    const accounts = yield* Accounts
    const sessions = yield* Sessions
    const signIn = yield* SignIn
    const limiter = yield* RateLimiter
    const audit = yield* Audit
    const mail = yield* MailQueue
    const now = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms))

    const storeHash = (user: M.User, hash: string, at: Date) =>
      hashes.set({ userId: user.id, appId: user.appId, hash, createdAt: at, updatedAt: at })

    /** Every new user gets `user`; the first user of the platform app also gets `owner`. */
    const assignInitialRoles = (user: M.User, client: ClientContext, at: Date) =>
      Effect.gen(function* () {
        const first = client.app.isPlatform && (yield* users.count(client.app.id)) === 1
        for (const slug of first ? ["user", "owner"] : ["user"]) {
          const role = yield* Effect.option(rbac.getRoleBySlug(client.app.id, slug))
          if (Option.isSome(role)) {
            yield* rbac
              .assign({ appId: client.app.id, userId: user.id, roleId: role.value.id, orgId: null, assignedAt: at })
              .pipe(Effect.catchTag("Conflict", () => Effect.void))
          }
        }
      })

    /** What a duplicate sign-up sees while verification is required: the same shape, and nothing changes. */
    const syntheticUser = (input: SignUpInput, client: ClientContext, at: Date): M.User => ({
      id: newId.user(),
      appId: client.app.id,
      envId: client.env.id,
      email: input.email,
      emailVerified: false,
      firstName: input.first_name ?? null,
      lastName: input.last_name ?? null,
      image: null,
      username: input.username ?? null,
      phone: null,
      banned: false,
      banReason: null,
      banExpires: null,
      metadata: input.metadata ?? null,
      createdAt: at,
      updatedAt: at,
      deletedAt: null,
    })

    /**
     * Creates the account. With verification required: mails a code and returns the user without a session; a
     * taken email returns a synthetic user after the same work (no enumeration). Otherwise: signs in, and a taken
     * email is `EmailTaken`.
     */
    const signUp = (input: SignUpInput, client: ClientContext) =>
      Effect.gen(function* () {
        if (!config.signupEnabled) return yield* new Forbidden({ message: "sign-up is disabled" })
        const password = secret(input.password)
        yield* checkPassword(password, settings.policy, { email: input.email })
        const hash = yield* hasher.hash(password)
        const at = yield* now
        const user = syntheticUser(input, client, at)
        const duplicate = () =>
          config.emailVerification.required
            ? Effect.succeed({ user, tokens: undefined, created: false })
            : Effect.fail(new EmailTaken())
        return yield* store
          .transaction(
            Effect.gen(function* () {
              const existing = yield* Effect.option(users.getByEmail(client.app.id, client.env.id, input.email))
              if (Option.isSome(existing)) return yield* duplicate()
              const created = yield* users.create(user)
              yield* storeHash(created, hash, at)
              yield* assignInitialRoles(created, client, at)
              yield* audit.record(client, {
                type: "auth.signup",
                userId: created.id,
                metadata: { method: "password" },
              })
              if (config.emailVerification.required) {
                yield* accounts.startEmailVerification(created, client)
                return { user: created, tokens: undefined, created: true }
              }
              const tokens = yield* signIn.complete(created, client, "password")
              return { user: created, tokens, created: true }
            }),
          )
          .pipe(Effect.catchTag("EmailTaken", duplicate))
      })

    const findUser = (client: ClientContext, identifier: { email: string } | { username: string }) =>
      Effect.option(
        "email" in identifier
          ? users.getByEmail(client.app.id, client.env.id, identifier.email)
          : users.getByUsername(client.app.id, client.env.id, identifier.username),
      )

    /**
     * Signs a user in with `input` (an email, or a username, and the password) for the app and environment of
     * `client` (who is asking: tenant, address, user agent), and returns the user and the issued tokens.
     *
     * Unknown users and wrong passwords fail alike (`InvalidCredentials`), after the same work (a dummy
     * verification), and both count towards the identifier's lockout (`AccountLocked` once locked, even for the
     * right password). `admitted`, if given, runs right after the lock check and before any password work: the HTTP
     * route passes its per-identifier rate limit there, so a lock wins over a rate limit.
     */
    const signInWithPassword = <E = never>(
      input: SignInInput,
      client: ClientContext,
      admitted: Effect.Effect<void, E> = Effect.void as Effect.Effect<void, E>,
    ) =>
      Effect.gen(function* () {
        const user = yield* findUser(client, input)
        // An account is locked whichever identifier names it; an identifier naming none is counted on its own.
        const subject: LockoutSubject = Option.isSome(user)
          ? { userId: user.value.id }
          : { identifier: signInIdentifier(input) }
        yield* limiter.ensureNotLocked(client.app.id, subject)
        yield* admitted
        const password = secret(input.password)
        const stored = Option.isSome(user) ? yield* hashes.get(user.value.id) : Option.none()
        const valid = Option.isSome(stored)
          ? yield* hasher.verify(stored.value.hash, password)
          : yield* hasher.verifyDummy(password)
        if (!valid || Option.isNone(user)) {
          const locked = yield* limiter.recordFailure(client.app.id, subject)
          const userId: UserId | null = Option.isSome(user) ? user.value.id : null
          yield* audit.record(client, {
            type: "auth.signin.failed",
            outcome: "failure",
            userId,
            reason: Option.isNone(user) ? "unknown_user" : Option.isNone(stored) ? "no_password" : "wrong_password",
            metadata: { identifier_hash: sha256Hex(signInIdentifier(input)) },
          })
          if (locked) {
            yield* audit.record(client, {
              type: "auth.account_locked",
              outcome: "failure",
              userId,
              reason: "too_many_failed_signins",
            })
          }
          return yield* new InvalidCredentials()
        }
        yield* limiter.clearFailures(client.app.id, subject)
        if (config.emailVerification.required && !user.value.emailVerified) return yield* new EmailNotVerified()
        if (Option.isSome(stored) && (yield* hasher.needsRehash(stored.value.hash))) {
          yield* storeHash(user.value, yield* hasher.hash(password), yield* now)
        }
        // The session and its event are one statement; the device row before it needs no transaction with it.
        const tokens = yield* signIn.complete(user.value, client, "password")
        return { user: user.value, tokens }
      })

    /** Mails a reset link to a known user; silent either way. */
    const forgotPassword = (email: string, client: ClientContext) =>
      store.transaction(
        Effect.gen(function* () {
          const user = yield* Effect.option(users.getByEmail(client.app.id, client.env.id, email))
          if (Option.isNone(user)) return
          const at = yield* now
          const token = randomToken()
          yield* resets.invalidateForUser(user.value.id, at)
          yield* resets.create({
            id: newId.passwordReset(),
            appId: user.value.appId,
            envId: user.value.envId,
            userId: user.value.id,
            tokenHash: sha256Hex(token),
            expiresAt: new Date(at.getTime() + Duration.toMillis(settings.resetTokenTtl)),
            consumedAt: null,
            createdAt: at,
          })
          const rendered = passwordResetEmail({
            appName: config.mail.appName ?? config.appId,
            link: accounts.link("/reset-password", token),
            expiresInMinutes: Duration.toMinutes(settings.resetTokenTtl),
          })
          yield* mail.enqueue({
            appId: user.value.appId,
            envId: user.value.envId,
            userId: user.value.id,
            type: "password_reset",
            to: user.value.email,
            ...rendered,
          })
          yield* audit.record(client, { type: "auth.password_reset_requested", userId: user.value.id })
        }),
      )

    const invalidToken = new InvalidCode({ message: "invalid or expired reset token" })

    /** Sets a new password with a single-use reset token and revokes every session of the user. */
    const resetPassword = (token: string, newPassword: string, client: ClientContext) =>
      Effect.gen(function* () {
        const password = secret(newPassword)
        const at = yield* now
        const reset = yield* resets.findByTokenHash(sha256Hex(token))
        if (
          Option.isNone(reset) ||
          reset.value.appId !== client.app.id ||
          reset.value.consumedAt !== null ||
          reset.value.expiresAt.getTime() <= at.getTime()
        ) {
          return yield* invalidToken
        }
        const user = yield* users.get(reset.value.userId).pipe(Effect.catchTag("NotFound", () => invalidToken))
        yield* checkPassword(password, settings.policy, { email: user.email })
        const hash = yield* hasher.hash(password)
        yield* store.transaction(
          Effect.gen(function* () {
            if (!(yield* resets.consume(reset.value.id, at))) return yield* invalidToken
            yield* resets.invalidateForUser(user.id, at)
            yield* storeHash(user, hash, at)
            const revoked = yield* sessions.revokeAllForUser(user.id)
            yield* audit.record(client, {
              type: "auth.password_reset",
              userId: user.id,
              metadata: { sessions_revoked: revoked },
            })
          }),
        )
        yield* limiter.unlock(client.app.id, { userId: user.id })
      })

    /**
     * Changes the password of a signed-in user, revoking their other sessions unless told not to, and voiding every
     * pending reset token. A wrong current password counts toward the account's lockout (a stolen session must not
     * allow unlimited guesses), and a locked account cannot change its password until the lock ends.
     */
    const changePassword = (
      auth: { user: M.User; session: M.Session },
      current: string,
      next: string,
      revokeOthers: boolean,
      client: ClientContext,
    ) =>
      Effect.gen(function* () {
        const subject = { userId: auth.user.id }
        yield* limiter.ensureNotLocked(client.app.id, subject)
        const stored = yield* hashes.get(auth.user.id)
        const valid = Option.isSome(stored)
          ? yield* hasher.verify(stored.value.hash, secret(current))
          : yield* hasher.verifyDummy(secret(current))
        if (!valid) {
          const locked = yield* limiter.recordFailure(client.app.id, subject)
          yield* audit.record(client, {
            type: "auth.password_change.failed",
            outcome: "failure",
            userId: auth.user.id,
            reason: "wrong_password",
          })
          if (locked) {
            yield* audit.record(client, {
              type: "auth.account_locked",
              outcome: "failure",
              userId: auth.user.id,
              reason: "too_many_failed_password_changes",
            })
          }
          return yield* new InvalidCredentials()
        }
        const password = secret(next)
        yield* checkPassword(password, settings.policy, { email: auth.user.email })
        const hash = yield* hasher.hash(password)
        const at = yield* now
        yield* store.transaction(
          Effect.gen(function* () {
            yield* storeHash(auth.user, hash, at)
            yield* resets.invalidateForUser(auth.user.id, at)
            const revoked = revokeOthers ? yield* sessions.revokeAllForUser(auth.user.id, auth.session.id) : 0
            yield* audit.record(client, {
              type: "auth.password_changed",
              userId: auth.user.id,
              metadata: { sessions_revoked: revoked },
            })
          }),
        )
        yield* limiter.unlock(client.app.id, subject)
      })

    return { signUp, signInWithPassword, forgotPassword, resetPassword, changePassword } as const
  }),
}) {}
