/**
 * Account life cycle shared by every sign-in method: email verification (6-digit code or link) of existing users and
 * of pending sign-ups, the profile, and deletion. Mails are queued in the caller's transaction.
 *
 * Pending sign-ups (http-api.md §3 "No pre-hijacking"): a sign-up creates no account. Its plugin's data (password
 * hash, profile) waits on the verification mailed for it, and only that verification's code or link creates the
 * account from it. Several sign-ups for one address may wait at once, each with its own code; none changes another,
 * and once one of them has made the account the rest are void.
 */
import { Clock, Duration, Effect, Option } from "effect"
import { InvalidCode, TooManyAttempts } from "../domain/errors.js"
import { newId } from "../domain/ids.js"
import type * as M from "../domain/models.js"
import { accountExistsEmail, MailQueue, verificationEmail } from "./mail/index.js"
import { Events } from "./events.js"
import { Background } from "./background.js"
import { AuthConfig } from "./config.js"
import type { ClientContext } from "./context.js"
import { codeHash, constantTimeEqual, randomToken, sha256Hex, sixDigitCode } from "./crypto.js"
import { PluginRegistry } from "./plugin-registry.js"
import { RateLimiter } from "./rate-limit.js"
import { SecretBox } from "./secrets.js"
import {
  AuditStore,
  DeviceStore,
  NotificationStore,
  OrganizationStore,
  SessionStore,
  Store,
  type UserPatch,
  UserStore,
  VerificationStore,
} from "./store/index.js"

export type VerifyEmailInput = { readonly email: string; readonly code: string } | { readonly token: string }

/**
 * How many of an address's open codes a guess is compared with, each attempt counted: the sign-ups of a few people
 * racing for one address all stay usable, and a guess costs the same however many were requested.
 */
const maxOpenCodes = 5

export class Accounts extends Effect.Service<Accounts>()("authsome/Accounts", {
  effect: Effect.gen(function* () {
    const config = yield* AuthConfig
    const store = yield* Store
    const users = yield* UserStore
    const sessions = yield* SessionStore
    const verifications = yield* VerificationStore
    const notifications = yield* NotificationStore
    const mail = yield* MailQueue
    const events = yield* Events
    const devices = yield* DeviceStore
    const organizations = yield* OrganizationStore
    const auditEvents = yield* AuditStore
    const plugins = yield* PluginRegistry
    const limiter = yield* RateLimiter
    const background = yield* Background
    const codeKey = (yield* SecretBox).keyFor("code-hash")
    const now = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms))
    const maxAttempts = config.emailVerification.maxAttempts

    /** A link into the front end (`AUTHSOME_PUBLIC_URL`), e.g. `/verify-email?token=...`. */
    const link = (path: string, token: string) =>
      `${config.publicUrl ?? "http://localhost:8080"}${path}?token=${encodeURIComponent(token)}`

    /** A new code and link for `email` (one verification row) and its mail. Call inside a transaction. */
    const issueVerification = (
      tenant: { readonly appId: M.App["id"]; readonly envId: M.Environment["id"] },
      email: string,
      target: { readonly userId: M.User["id"] } | { readonly signup: M.PendingSignUp },
    ) =>
      Effect.gen(function* () {
        const at = yield* now
        const id = newId.verification()
        const code = sixDigitCode()
        const token = randomToken()
        const userId = "userId" in target ? target.userId : null
        yield* verifications.create({
          id,
          appId: tenant.appId,
          envId: tenant.envId,
          userId,
          email,
          kind: "email",
          codeHash: codeHash(code, id, codeKey),
          tokenHash: sha256Hex(token),
          attempts: 0,
          expiresAt: new Date(at.getTime() + Duration.toMillis(config.emailVerification.codeTtl)),
          consumedAt: null,
          createdAt: at,
          signup: "signup" in target ? target.signup : null,
        })
        const rendered = verificationEmail({
          appName: config.mail.appName ?? config.appId,
          code,
          link: link("/verify-email", token),
          expiresInMinutes: Duration.toMinutes(config.emailVerification.codeTtl),
        })
        yield* mail.enqueue({
          appId: tenant.appId,
          envId: tenant.envId,
          userId,
          type: "email_verification",
          to: email,
          ...rendered,
        })
      })

    /** Voids earlier codes of an existing user and mails a new code and link. Call inside a transaction. */
    const startEmailVerification = (user: M.User, client: ClientContext) =>
      Effect.gen(function* () {
        yield* verifications.invalidate(user.appId, user.envId, user.email, "email", yield* now)
        yield* issueVerification(user, user.email, { userId: user.id })
        yield* events.emit(client, { type: "auth.email_verification_requested", userId: user.id })
      })

    /**
     * Records a sign-up that waits for its code or link (`signup.method` names the plugin whose `completeSignUp`
     * hook makes the account) and mails them. Other pending sign-ups of the address are left as they are. Call inside
     * a transaction.
     */
    const startSignUp = (email: string, signup: M.PendingSignUp, client: ClientContext) =>
      Effect.gen(function* () {
        yield* issueVerification({ appId: client.app.id, envId: client.env.id }, email, { signup })
        yield* events.emit(client, { type: "auth.signup_requested", metadata: { method: signup.method } })
      })

    /**
     * What a sign-up for an address that has an account does instead: tells the owner, changes nothing. Call inside a
     * transaction.
     */
    const notifyExistingAccount = (user: M.User, client: ClientContext) =>
      Effect.gen(function* () {
        const rendered = accountExistsEmail({ appName: config.mail.appName ?? config.appId })
        yield* mail.enqueue({
          appId: user.appId,
          envId: user.envId,
          userId: user.id,
          type: "account_exists",
          to: user.email,
          ...rendered,
        })
        yield* events.emit(client, {
          type: "auth.signup_existing_email",
          outcome: "failure",
          userId: user.id,
          reason: "email_taken",
        })
      })

    const invalidCode = new InvalidCode({ message: "invalid or expired code" })
    const tooManyAttempts = new TooManyAttempts({ message: "too many attempts; request a new code" })

    /** The subject of the guesses at an address that has no code, so they run as those at a real code would. */
    const guessSubject = (client: ClientContext, email: string) => `code:${client.app.id}:${client.env.id}:${email}`

    /**
     * The open verification a code or link refers to, checked: a code is compared only after an attempt at it was
     * taken (atomically, so at most `maxAttempts` comparisons ever happen per code), against each open code of the
     * address; an address without one answers alike, `too_many_attempts` included. Not consumed yet.
     */
    const checkVerification = (input: VerifyEmailInput, client: ClientContext) =>
      Effect.gen(function* () {
        const at = yield* now
        if ("token" in input) {
          const found = yield* verifications.findByTokenHash(sha256Hex(input.token))
          if (
            Option.isNone(found) ||
            found.value.kind !== "email" ||
            found.value.appId !== client.app.id ||
            found.value.envId !== client.env.id ||
            found.value.consumedAt !== null ||
            found.value.attempts >= maxAttempts ||
            found.value.expiresAt.getTime() <= at.getTime()
          ) {
            return yield* invalidCode
          }
          return found.value
        }
        const open = yield* verifications.listActive(
          client.app.id,
          client.env.id,
          input.email,
          "email",
          at,
          maxOpenCodes,
        )
        if (open.length === 0) {
          const guesses = yield* limiter.countGuess(guessSubject(client, input.email), config.emailVerification.codeTtl)
          return yield* guesses >= maxAttempts ? tooManyAttempts : invalidCode
        }
        let attemptsLeft = false
        for (const verification of open) {
          const claimed = yield* verifications.claimAttempt(verification.id, maxAttempts, at)
          if (Option.isNone(claimed)) continue
          if (constantTimeEqual(codeHash(input.code, verification.id, codeKey), verification.codeHash ?? "")) {
            return verification
          }
          if (claimed.value < maxAttempts) attemptsLeft = true
        }
        return yield* attemptsLeft ? invalidCode : tooManyAttempts
      })

    /** The account of a pending sign-up, made by the plugin that started it; the address's other sign-ups are void. */
    const completeSignUp = (verification: M.Verification, signup: M.PendingSignUp, client: ClientContext) =>
      Effect.gen(function* () {
        // An account made for the address meanwhile (by another of its sign-ups) is never changed by this one.
        const taken = yield* Effect.option(users.getByEmail(client.app.id, client.env.id, verification.email))
        if (Option.isSome(taken)) return yield* invalidCode
        const finisher = (yield* plugins.all).find((plugin) => plugin.name === signup.method)?.hooks.completeSignUp
        if (finisher === undefined) return yield* invalidCode
        const user = yield* finisher({ ...signup, email: verification.email }, client)
        yield* verifications.invalidate(client.app.id, client.env.id, verification.email, "email", yield* now)
        return user
      })

    /** The existing user a verification was mailed to, now verified. */
    const markVerified = (verification: M.Verification) =>
      Effect.gen(function* () {
        if (verification.userId === null) return yield* invalidCode
        const user = yield* users.get(verification.userId).pipe(Effect.catchTag("NotFound", () => invalidCode))
        if (user.email !== verification.email) return yield* invalidCode
        if (user.emailVerified) return user
        return yield* users
          .update(user.id, { emailVerified: true }, yield* now)
          .pipe(Effect.catchTags({ NotFound: () => invalidCode, EmailTaken: Effect.die, UsernameTaken: Effect.die }))
      })

    /**
     * Verifies the email with a mailed code or link: the existing user it was mailed to is marked verified, or the
     * pending sign-up it was mailed for becomes the account. The caller then signs the user in. Attempts are taken
     * outside the transaction, so a failed one stays counted.
     */
    const verifyEmail = (input: VerifyEmailInput, client: ClientContext) =>
      Effect.flatMap(checkVerification(input, client), (verification) =>
        store.transaction(
          Effect.gen(function* () {
            if (!(yield* verifications.consume(verification.id, yield* now))) return yield* invalidCode
            const user =
              verification.signup === null
                ? yield* markVerified(verification)
                : yield* completeSignUp(verification, verification.signup, client)
            yield* events.emit(client, { type: "user.email_verified", userId: user.id })
            return user
          }),
        ),
      )

    /**
     * Mails a fresh code, voiding the previous one (and never resetting the attempts of a code in use): to an
     * unverified user, or for the newest pending sign-up of the address; nothing otherwise. The lookups are the same
     * whatever the address; what differs is written after the answer (`Background`), so its time tells nothing.
     */
    const resendVerification = (email: string, client: ClientContext) =>
      Effect.gen(function* () {
        const at = yield* now
        yield* limiter.forgetGuesses(guessSubject(client, email))
        const user = yield* Effect.option(users.getByEmail(client.app.id, client.env.id, email))
        const open = yield* verifications.listActive(client.app.id, client.env.id, email, "email", at, maxOpenCodes)
        const pending = open.find((verification) => verification.signup !== null)
        const renew = (previous: M.Verification, signup: M.PendingSignUp) =>
          Effect.gen(function* () {
            if (!(yield* verifications.consume(previous.id, yield* now))) return
            yield* issueVerification({ appId: client.app.id, envId: client.env.id }, email, { signup })
            yield* events.emit(client, {
              type: "auth.email_verification_requested",
              metadata: { method: signup.method },
            })
          })
        const work = Option.isSome(user)
          ? user.value.emailVerified
            ? Effect.void
            : startEmailVerification(user.value, client)
          : pending?.signup
            ? renew(pending, pending.signup)
            : Effect.void
        yield* background.run(store.transaction(work))
      })

    const updateProfile = (user: M.User, patch: UserPatch, client: ClientContext) =>
      store.transaction(
        Effect.gen(function* () {
          const updated = yield* users.update(user.id, patch, yield* now)
          yield* events.emit(client, {
            type: "user.updated",
            userId: user.id,
            // the wire's names (the webhook payload shows them)
            metadata: {
              fields: Object.keys(patch).map((field) => field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)),
            },
          })
          return updated
        }),
      )

    /**
     * Soft delete with anonymisation; every session goes with it, and the address leaves the verifications and the
     * outbox (pending mail is dropped, sent mail keeps a placeholder recipient). `actorId`: the administrator doing it
     * (default: the user).
     */
    const deleteAccount = (user: M.User, client: ClientContext, actorId: M.User["id"] = user.id) =>
      store.transaction(
        Effect.gen(function* () {
          const revoked = yield* sessions.deleteByUser(user.id)
          yield* verifications.deleteByEmail(user.appId, user.envId, user.email)
          yield* notifications.forgetRecipient(user.appId, user.email, user.id, `deleted+${user.id}@deleted.invalid`)
          yield* users.softDelete(user.id, yield* now)
          yield* events.emit(client, {
            type: "user.deleted",
            userId: user.id,
            actorId,
            metadata: { sessions_revoked: revoked },
          })
        }),
      )

    /** Everything stored about the user (GDPR export): sessions, devices, orgs, audit trail and plugin data. */
    const exportData = (user: M.User, client: ClientContext) =>
      Effect.gen(function* () {
        const [userSessions, userDevices, orgs, trail, extra] = yield* Effect.all([
          sessions.listByUser(user.id),
          devices.listByUser(user.id),
          organizations.listForUser(user.id),
          auditEvents.list(user.appId, { userId: user.id, limit: 1000 }),
          plugins.exportUserData(user),
        ])
        yield* events.emit(client, { type: "user.data_exported", userId: user.id })
        return {
          user,
          sessions: userSessions,
          devices: userDevices,
          organizations: orgs,
          auditEvents: trail.items,
          extra,
        }
      })

    return {
      exportData,
      startEmailVerification,
      startSignUp,
      notifyExistingAccount,
      verifyEmail,
      resendVerification,
      updateProfile,
      deleteAccount,
      link,
    } as const
  }),
}) {}
