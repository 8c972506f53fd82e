/**
 * Account life cycle shared by every sign-in method: email verification (6-digit code or link), the profile, and
 * deletion. Mails are queued in the caller's transaction.
 */
import { Clock, Duration, Effect, Option } from "effect"
import { InvalidCode, TooManyAttempts } from "../domain/errors.js"
import { newId } from "../domain/ids.js"
import type * as M from "../domain/models.js"
import { MailQueue, verificationEmail } from "./mail/index.js"
import { Audit } from "./audit.js"
import { AuthConfig } from "./config.js"
import type { ClientContext } from "./context.js"
import { codeHash, constantTimeEqual, randomToken, sha256Hex, sixDigitCode } from "./crypto.js"
import { PluginRegistry } from "./plugin-registry.js"
import { SecretBox } from "./secrets.js"
import {
  AuditStore,
  DeviceStore,
  OrganizationStore,
  SessionStore,
  Store,
  type UserPatch,
  UserStore,
  VerificationStore,
} from "./store/index.js"

export type VerifyEmailInput = { readonly email: string; readonly code: string } | { readonly token: string }

export class Accounts extends Effect.Service<Accounts>()("authsome/Accounts", {
  effect: Effect.gen(function* () {
    const config = yield* AuthConfig
    const store = yield* Store
    const users = yield* UserStore
    const sessions = yield* SessionStore
    const verifications = yield* VerificationStore
    const mail = yield* MailQueue
    const audit = yield* Audit
    const devices = yield* DeviceStore
    const organizations = yield* OrganizationStore
    const auditEvents = yield* AuditStore
    const plugins = yield* PluginRegistry
    const codeKey = (yield* SecretBox).keyFor("code-hash")
    const now = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms))

    /** A link into the front end (`AUTHSOME_PUBLIC_URL`), e.g. `/verify-email?token=...`. */
    const link = (path: string, token: string) =>
      `${config.publicUrl ?? "http://localhost:8080"}${path}?token=${encodeURIComponent(token)}`

    /** Voids earlier codes and mails a new 6-digit code and link (15 minutes). Call inside a transaction. */
    const startEmailVerification = (user: M.User, client: ClientContext) =>
      Effect.gen(function* () {
        const at = yield* now
        yield* verifications.invalidate(user.appId, user.envId, user.email, "email", at)
        const id = newId.verification()
        const code = sixDigitCode()
        const token = randomToken()
        yield* verifications.create({
          id,
          appId: user.appId,
          envId: user.envId,
          userId: user.id,
          email: user.email,
          kind: "email",
          codeHash: codeHash(code, id, codeKey),
          tokenHash: sha256Hex(token),
          attempts: 0,
          expiresAt: new Date(at.getTime() + Duration.toMillis(config.emailVerification.codeTtl)),
          consumedAt: null,
          createdAt: at,
        })
        const rendered = verificationEmail({
          appName: config.mail.appName ?? config.appId,
          code,
          link: link("/verify-email", token),
          expiresInMinutes: Duration.toMinutes(config.emailVerification.codeTtl),
        })
        yield* mail.enqueue({
          appId: user.appId,
          envId: user.envId,
          userId: user.id,
          type: "email_verification",
          to: user.email,
          ...rendered,
        })
        yield* audit.record(client, { type: "auth.email_verification_requested", userId: user.id })
      })

    const invalidCode = new InvalidCode({ message: "invalid or expired code" })

    /** The verification a code or link refers to, checked (attempts, expiry, constant-time comparison) and consumed. */
    const consumeVerification = (input: VerifyEmailInput, client: ClientContext) =>
      Effect.gen(function* () {
        const at = yield* now
        let verification: M.Verification
        if ("token" in input) {
          const found = yield* verifications.findByTokenHash(sha256Hex(input.token))
          if (
            Option.isNone(found) ||
            found.value.kind !== "email" ||
            found.value.appId !== client.app.id ||
            found.value.consumedAt !== null ||
            found.value.expiresAt.getTime() <= at.getTime()
          ) {
            return yield* invalidCode
          }
          verification = found.value
        } else {
          const found = yield* verifications.findActive(client.app.id, client.env.id, input.email, "email", at)
          if (Option.isNone(found)) return yield* invalidCode
          verification = found.value
          if (verification.attempts >= config.emailVerification.maxAttempts) {
            return yield* new TooManyAttempts({ message: "too many attempts; request a new code" })
          }
          const expected = verification.codeHash ?? ""
          if (!constantTimeEqual(codeHash(input.code, verification.id, codeKey), expected)) {
            const attempts = yield* verifications.recordAttempt(verification.id)
            if (attempts >= config.emailVerification.maxAttempts) {
              yield* verifications.consume(verification.id, at)
              return yield* new TooManyAttempts({ message: "too many attempts; request a new code" })
            }
            return yield* invalidCode
          }
        }
        if (!(yield* verifications.consume(verification.id, at))) return yield* invalidCode
        return verification
      })

    /**
     * Marks the email verified; the caller then signs the user in. The code check runs outside the transaction so a
     * failed attempt stays counted.
     */
    const verifyEmail = (input: VerifyEmailInput, client: ClientContext) =>
      Effect.flatMap(consumeVerification(input, client), (verification) =>
        store.transaction(
          Effect.gen(function* () {
            const at = yield* now
            const user = yield* users.get(verification.userId!).pipe(Effect.catchTag("NotFound", () => invalidCode))
            if (user.email !== verification.email) return yield* invalidCode
            const verified = user.emailVerified
              ? user
              : yield* users.update(user.id, { emailVerified: true }, at).pipe(
                  Effect.catchTags({
                    NotFound: () => invalidCode,
                    EmailTaken: Effect.die,
                    UsernameTaken: Effect.die,
                  }),
                )
            yield* audit.record(client, { type: "user.email_verified", userId: user.id })
            return verified
          }),
        ),
      )

    /** Mails a fresh code to an unverified user; silent otherwise (the response never tells). */
    const resendVerification = (email: string, client: ClientContext) =>
      store.transaction(
        Effect.gen(function* () {
          const user = yield* Effect.option(users.getByEmail(client.app.id, client.env.id, email))
          if (Option.isNone(user) || user.value.emailVerified) return
          yield* startEmailVerification(user.value, client)
        }),
      )

    const updateProfile = (user: M.User, patch: UserPatch, client: ClientContext) =>
      store.transaction(
        Effect.gen(function* () {
          const updated = yield* users.update(user.id, patch, yield* now)
          yield* audit.record(client, {
            type: "user.updated",
            userId: user.id,
            metadata: { fields: Object.keys(patch) },
          })
          return updated
        }),
      )

    /** Soft delete with anonymisation; every session goes with it. */
    const deleteAccount = (user: M.User, client: ClientContext) =>
      store.transaction(
        Effect.gen(function* () {
          const revoked = yield* sessions.deleteByUser(user.id)
          yield* users.softDelete(user.id, yield* now)
          yield* audit.record(client, {
            type: "user.deleted",
            userId: user.id,
            metadata: { sessions_revoked: revoked },
          })
        }),
      )

    /** Everything stored about the user (GDPR export): sessions, devices, orgs, audit trail and plugin data. */
    const exportData = (user: M.User, client: ClientContext) =>
      Effect.gen(function* () {
        const [userSessions, userDevices, orgs, events, extra] = yield* Effect.all([
          sessions.listByUser(user.id),
          devices.listByUser(user.id),
          organizations.listForUser(user.id),
          auditEvents.list(user.appId, { userId: user.id, limit: 1000 }),
          plugins.exportUserData(user),
        ])
        yield* audit.record(client, { type: "user.data_exported", userId: user.id })
        return {
          user,
          sessions: userSessions,
          devices: userDevices,
          organizations: orgs,
          auditEvents: events.items,
          extra,
        }
      })

    return {
      exportData,
      startEmailVerification,
      verifyEmail,
      resendVerification,
      updateProfile,
      deleteAccount,
      link,
    } as const
  }),
}) {}
