/**
 * Sign-in by a link mailed to the address, usable without HTTP. The link's token is random (256 bits), single-use,
 * short-lived and stored only as its SHA-256, in the core verifications table (kind `magic_link`).
 */
import { Clock, Duration, Effect, Option } from "effect"
import { Forbidden, InvalidCode } from "../../domain/errors.js"
import { newId } from "../../domain/ids.js"
import type * as M from "../../domain/models.js"
import { randomToken, sha256Hex } from "../../plugin/index.js"
import { Accounts } from "../../services/accounts.js"
import { Events } from "../../services/events.js"
import { AuthConfig } from "../../services/config.js"
import type { ClientContext } from "../../services/context.js"
import { MailQueue } from "../../services/mail/index.js"
import { PluginRegistry } from "../../services/plugin-registry.js"
import { Sessions } from "../../services/sessions.js"
import { SignIn } from "../../services/sign-in.js"
import { Store, UserStore, VerificationStore } from "../../services/store/index.js"
import { Authorization } from "../../services/authorization.js"
import { magicLinkEmail, noAccountEmail } from "./mail.js"
import { MagicLinkSettings } from "./options.js"

export class MagicLinks extends Effect.Service<MagicLinks>()("authsome/MagicLinks", {
  effect: Effect.gen(function* () {
    const config = yield* AuthConfig
    const settings = yield* MagicLinkSettings
    const store = yield* Store
    const users = yield* UserStore
    const verifications = yield* VerificationStore
    const accounts = yield* Accounts
    const mail = yield* MailQueue
    const events = yield* Events
    const signIn = yield* SignIn
    const sessions = yield* Sessions
    const registry = yield* PluginRegistry
    const authorization = yield* Authorization
    const now = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms))
    const appName = config.mail.appName ?? config.appId

    /**
     * Mails a sign-in link for `email`, voiding earlier ones. An address without an account gets the same work —
     * a link stored, a mail queued — but the mail holds the link only when links may create accounts; otherwise it
     * is a notice that no account uses the address. So the answer, and its time, never tell whether one exists.
     */
    const send = (email: string, client: ClientContext) =>
      store.transaction(
        Effect.gen(function* () {
          const at = yield* now
          const user = yield* Effect.option(users.getByEmail(client.app.id, client.env.id, email))
          const token = randomToken()
          yield* verifications.invalidate(client.app.id, client.env.id, email, "magic_link", at)
          yield* verifications.create({
            id: newId.verification(),
            appId: client.app.id,
            envId: client.env.id,
            userId: Option.isSome(user) ? user.value.id : null,
            email,
            kind: "magic_link",
            codeHash: null,
            tokenHash: sha256Hex(token),
            signup: null,
            attempts: 0,
            expiresAt: new Date(at.getTime() + Duration.toMillis(settings.tokenTtl)),
            consumedAt: null,
            createdAt: at,
          })
          const linkMailed = Option.isSome(user) || settings.allowSignup
          const rendered = linkMailed
            ? magicLinkEmail({
                appName,
                link: accounts.link("/magic-link", token),
                expiresInMinutes: Duration.toMinutes(settings.tokenTtl),
              })
            : noAccountEmail({ appName })
          yield* mail.enqueue({
            appId: client.app.id,
            envId: client.env.id,
            userId: Option.isSome(user) ? user.value.id : null,
            type: linkMailed ? "magic_link" : "magic_link_no_account",
            to: email,
            ...rendered,
          })
        }),
      )

    const invalidLink = new InvalidCode({ message: "invalid or expired link" })

    /** The user the link is for; created (verified) when links may create accounts and none uses the address. */
    const userOf = (verification: M.Verification, client: ClientContext, at: Date) =>
      Effect.gen(function* () {
        const existing = yield* Effect.option(
          verification.userId === null
            ? users.getByEmail(client.app.id, client.env.id, verification.email)
            : users.get(verification.userId),
        )
        if (Option.isSome(existing)) {
          // The address changed since the link was mailed: the link proves nothing about the new one.
          if (existing.value.email !== verification.email) return yield* invalidLink
          if (existing.value.emailVerified) return existing.value
          // Whoever registered the address before its owner proved it may have left a password or sessions: they
          // go, so the account the owner now signs in to is theirs alone (no pre-hijacking).
          const verified = yield* users
            .update(existing.value.id, { emailVerified: true }, at)
            .pipe(Effect.catchTags({ NotFound: () => invalidLink, EmailTaken: Effect.die, UsernameTaken: Effect.die }))
          yield* registry.revokeUnprovenCredentials(verified)
          const revoked = yield* sessions.revokeAllForUser(verified.id)
          yield* events.emit(client, {
            type: "user.email_verified",
            userId: verified.id,
            metadata: { method: "magic_link", sessions_revoked: revoked },
          })
          return verified
        }
        // The link was mailed to a user deleted since, or links may not create accounts.
        if (verification.userId !== null || !settings.allowSignup) return yield* invalidLink
        if (!config.signupEnabled) return yield* new Forbidden({ message: "sign-up is disabled" })
        const user = yield* users
          .create({
            id: newId.user(),
            appId: client.app.id,
            envId: client.env.id,
            email: verification.email,
            emailVerified: true,
            firstName: null,
            lastName: null,
            image: null,
            username: null,
            phone: null,
            banned: false,
            banReason: null,
            banExpires: null,
            metadata: null,
            createdAt: at,
            updatedAt: at,
            deletedAt: null,
          })
          .pipe(Effect.catchTags({ EmailTaken: () => invalidLink, UsernameTaken: Effect.die }))
        yield* authorization.assignInitialRoles(user, client)
        yield* events.userCreated(client, user, "magic_link")
        yield* events.emit(client, { type: "auth.signup", userId: user.id, metadata: { method: "magic_link" } })
        return user
      })

    /**
     * Signs in with a mailed link's token: once, before it expires, for the app and environment it was mailed for.
     * Using it verifies the address (the mail reached its owner); for an account whose address was not verified
     * yet, what was set on it before — a password, sessions — is revoked.
     */
    const verify = (token: string, client: ClientContext) =>
      Effect.gen(function* () {
        const at = yield* now
        const found = yield* verifications.findByTokenHash(sha256Hex(token))
        if (
          Option.isNone(found) ||
          found.value.kind !== "magic_link" ||
          found.value.appId !== client.app.id ||
          found.value.envId !== client.env.id ||
          found.value.consumedAt !== null ||
          found.value.expiresAt.getTime() <= at.getTime()
        ) {
          return yield* invalidLink
        }
        const verification = found.value
        const user = yield* store.transaction(
          Effect.gen(function* () {
            if (!(yield* verifications.consume(verification.id, at))) return yield* invalidLink
            return yield* userOf(verification, client, at)
          }),
        )
        // After the commit: a sign-in gate (a second factor) leaves the link used and the address verified.
        const tokens = yield* signIn.complete(user, client, "magic_link")
        return { user, tokens }
      })

    return { send, verify } as const
  }),
}) {}
