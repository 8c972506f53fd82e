/**
 * The password flows, usable without HTTP: sign-up and sign-in with email (or username) and password, forgotten
 * and changed passwords. Hashes are argon2id PHC strings in `authsome_password_hashes` (the plugin's own table).
 */
import { Clock, Duration, Effect, Option, Redacted, Schema } from "effect"
import { EmailNotVerified, Forbidden, InvalidCode, InvalidCredentials, UsernameTaken } from "../../domain/errors.js"
import { newId, type UserId } from "../../domain/ids.js"
import type * as M from "../../domain/models.js"
import { Accounts } from "../../services/accounts.js"
import { Events } from "../../services/events.js"
import { Authorization } from "../../services/authorization.js"
import { Background } from "../../services/background.js"
import { AuthConfig } from "../../services/config.js"
import type { ClientContext } from "../../services/context.js"
import { randomToken, sha256Hex } from "../../services/crypto.js"
import { MailQueue, passwordResetEmail } from "../../services/mail/index.js"
import { type LockoutSubject, RateLimiter } from "../../services/rate-limit.js"
import { Sessions } from "../../services/sessions.js"
import { SignIn } from "../../services/sign-in.js"
import { SignUpForms } from "../../services/signup-form.js"
import { PasswordResetStore, Store, UserStore, VerificationStore } from "../../services/store/index.js"
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

/** What a pending password sign-up holds until its code or link is used (a verification's `signup.data`). */
const PendingPasswordSignUp = Schema.Struct({
  password_hash: Schema.String,
  first_name: Schema.NullOr(Schema.String),
  last_name: Schema.NullOr(Schema.String),
  username: Schema.NullOr(Schema.String),
  metadata: Schema.NullOr(Schema.Record({ key: Schema.String, value: Schema.Unknown })),
})
type PendingPasswordSignUp = typeof PendingPasswordSignUp.Type

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
    const verifications = yield* VerificationStore
    const authorization = yield* Authorization
    const hasher = yield* PasswordHasher
    const accounts = yield* Accounts
    const sessions = yield* Sessions
    const signIn = yield* SignIn
    const limiter = yield* RateLimiter
    const events = yield* Events
    const mail = yield* MailQueue
    const background = yield* Background
    const signUpForms = yield* SignUpForms
    const now = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms))

    const storeHash = (user: M.User, hash: string, at: Date) =>
      hashes.set({ userId: user.id, appId: user.appId, hash, createdAt: at, updatedAt: at })

    /** The user a sign-up answers with: the account it will make, with the id it will have. */
    const newUser = (
      input: Omit<SignUpInput, "password">,
      client: ClientContext,
      at: Date,
      emailVerified: boolean,
      id = newId.user(),
    ): M.User => ({
      id,
      appId: client.app.id,
      envId: client.env.id,
      email: input.email,
      emailVerified,
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

    /** The account with its password hash, its roles and the sign-up event. Call inside a transaction. */
    const createAccount = (user: M.User, hash: string, client: ClientContext, at: Date) =>
      Effect.gen(function* () {
        const created = yield* users.create(user)
        yield* storeHash(created, hash, at)
        yield* authorization.assignInitialRoles(created, client)
        yield* events.userCreated(client, created, "password")
        yield* events.emit(client, { type: "auth.signup", userId: created.id, metadata: { method: "password" } })
        return created
      })

    /**
     * Creates the account, or with verification required (the default) a pending sign-up: its password hash and
     * profile wait on the verification mailed for it, and only that code or link makes them an account
     * (`completeSignUp`). A sign-up for an address that already has an account changes nothing and mails its owner
     * instead; the answer (a user without session) is the same, after the same work — the username check, the hash
     * and the lookup — the rest being written after the answer. Without verification: signs in, and a taken email is
     * `EmailTaken`.
     */
    const signUp = (input: SignUpInput, client: ClientContext) =>
      Effect.gen(function* () {
        if (!config.signupEnabled) return yield* new Forbidden({ message: "sign-up is disabled" })
        yield* signUpForms.validate(client.app.id, input.metadata)
        const password = secret(input.password)
        yield* checkPassword(password, settings.policy, { email: input.email })
        // The username first, on every branch: whether it is taken never depends on the email.
        if (input.username) {
          const holder = yield* Effect.option(users.getByUsername(client.app.id, client.env.id, input.username))
          if (Option.isSome(holder)) return yield* new UsernameTaken()
        }
        const hash = yield* hasher.hash(password)
        const at = yield* now
        const user = newUser(input, client, at, false)
        if (!config.emailVerification.required) {
          const created = yield* store.transaction(createAccount(user, hash, client, at))
          // After the commit: a sign-in gate that refuses (MFA enrollment forced by the app) keeps the account.
          return { user: created, tokens: yield* signIn.complete(created, client, "password") }
        }
        const existing = yield* Effect.option(users.getByEmail(client.app.id, client.env.id, input.email))
        const pending: PendingPasswordSignUp = {
          password_hash: hash,
          first_name: user.firstName,
          last_name: user.lastName,
          username: user.username,
          metadata: user.metadata,
        }
        yield* background.run(
          store.transaction(
            Option.isSome(existing)
              ? accounts.notifyExistingAccount(existing.value, client)
              : accounts.startSignUp(input.email, { method: "password", userId: user.id, data: pending }, client),
          ),
        )
        return { user, tokens: undefined }
      })

    /**
     * The `completeSignUp` hook: the account of a pending password sign-up whose code or link was just used, with the
     * password and profile of that sign-up, verified. A username taken meanwhile is `UsernameTaken`.
     */
    const completeSignUp = (signup: M.PendingSignUp & { readonly email: string }, client: ClientContext) =>
      Effect.gen(function* () {
        const data = yield* Schema.decodeUnknown(PendingPasswordSignUp)(signup.data).pipe(Effect.orDie)
        const at = yield* now
        const profile = { ...data, email: signup.email, metadata: data.metadata ?? undefined }
        const user = newUser(profile, client, at, true, signup.userId)
        return yield* createAccount(user, data.password_hash, client, at).pipe(
          Effect.catchTag("EmailTaken", () => new InvalidCode({ message: "invalid or expired code" })),
        )
      })

    /** The password hash of the newest sign-up waiting for its code at `email`, if it is a password sign-up. */
    const pendingHash = (client: ClientContext, email: string) =>
      Effect.gen(function* () {
        const [newest] = yield* verifications.listActive(client.app.id, client.env.id, email, "email", yield* now, 1)
        if (newest?.signup?.method !== "password") return Option.none<string>()
        return Option.getRight(Schema.decodeUnknownEither(PendingPasswordSignUp)(newest.signup.data)).pipe(
          Option.map((data) => data.password_hash),
        )
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
        const stored = Option.isSome(user)
          ? Option.map(yield* hashes.get(user.value.id), (row) => row.hash)
          : // No account, but maybe a sign-up waiting for its code: its password takes the dummy's place, so its
            // owner is told to verify the email (someone else learns nothing new).
            "email" in input
            ? yield* pendingHash(client, input.email)
            : Option.none()
        const valid = Option.isSome(stored)
          ? yield* hasher.verify(stored.value, password)
          : yield* hasher.verifyDummy(password)
        if (valid && Option.isNone(user)) return yield* new EmailNotVerified()
        if (!valid || Option.isNone(user)) {
          const userId: UserId | null = Option.isSome(user) ? user.value.id : null
          // The failure, its count and (when it locks the account) the lock are recorded together.
          yield* store.transaction(
            Effect.gen(function* () {
              const locked = yield* limiter.recordFailure(client.app.id, subject)
              yield* events.emit(client, {
                type: "auth.signin.failed",
                outcome: "failure",
                userId,
                reason: Option.isNone(user) ? "unknown_user" : Option.isNone(stored) ? "no_password" : "wrong_password",
                metadata: { identifier_hash: sha256Hex(signInIdentifier(input)) },
              })
              if (locked) {
                yield* events.emit(client, {
                  type: "auth.account_locked",
                  outcome: "failure",
                  userId,
                  reason: "too_many_failed_signins",
                })
              }
            }),
          )
          return yield* new InvalidCredentials()
        }
        yield* limiter.clearFailures(client.app.id, subject)
        if (config.emailVerification.required && !user.value.emailVerified) return yield* new EmailNotVerified()
        if (Option.isSome(stored) && (yield* hasher.needsRehash(stored.value))) {
          yield* storeHash(user.value, yield* hasher.hash(password), yield* now)
        }
        // The session and its event are one statement; the device row before it needs no transaction with it.
        const tokens = yield* signIn.complete(user.value, client, "password")
        return { user: user.value, tokens }
      })

    /**
     * Mails a reset link to a known user; silent either way. The lookup is the same for any address; the reset and
     * its mail are written after the answer (`Background`), so its time tells nothing.
     */
    const forgotPassword = (email: string, client: ClientContext) =>
      Effect.gen(function* () {
        const user = yield* Effect.option(users.getByEmail(client.app.id, client.env.id, email))
        yield* background.run(Option.isSome(user) ? store.transaction(issueReset(user.value, client)) : Effect.void)
      })

    /** A new reset token for the user (voiding earlier ones) and its mail. Call inside a transaction. */
    const issueReset = (user: M.User, client: ClientContext) =>
      Effect.gen(function* () {
        const at = yield* now
        const token = randomToken()
        yield* resets.invalidateForUser(user.id, at)
        yield* resets.create({
          id: newId.passwordReset(),
          appId: user.appId,
          envId: user.envId,
          userId: user.id,
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
          appId: user.appId,
          envId: user.envId,
          userId: user.id,
          type: "password_reset",
          to: user.email,
          ...rendered,
        })
        yield* events.emit(client, { type: "auth.password_reset_requested", userId: user.id })
      })

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
            yield* events.emit(client, {
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
          yield* store.transaction(
            Effect.gen(function* () {
              const locked = yield* limiter.recordFailure(client.app.id, subject)
              yield* events.emit(client, {
                type: "auth.password_change.failed",
                outcome: "failure",
                userId: auth.user.id,
                reason: "wrong_password",
              })
              if (locked) {
                yield* events.emit(client, {
                  type: "auth.account_locked",
                  outcome: "failure",
                  userId: auth.user.id,
                  reason: "too_many_failed_password_changes",
                })
              }
            }),
          )
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
            yield* events.emit(client, {
              type: "auth.password_changed",
              userId: auth.user.id,
              metadata: { sessions_revoked: revoked },
            })
          }),
        )
        yield* limiter.unlock(client.app.id, subject)
      })

    /**
     * The `preparePassword` hook (an administrator making an account with a password): the policy check and the hash
     * now, the write of the hash later, in the account's transaction.
     */
    const preparePassword = (email: string, plain: string) =>
      Effect.gen(function* () {
        const password = secret(plain)
        yield* checkPassword(password, settings.policy, { email })
        const hash = yield* hasher.hash(password)
        return (user: M.User) => Effect.flatMap(now, (at) => storeHash(user, hash, at))
      })

    return {
      signUp,
      completeSignUp,
      preparePassword,
      signInWithPassword,
      forgotPassword,
      resetPassword,
      changePassword,
    } as const
  }),
}) {}
