/**
 * TOTP multi-factor authentication, usable without HTTP: enrollment (the seed sealed at rest), confirmation with a
 * first code (which hands out the recovery codes, once), the sign-in gate and its challenge, disabling and new
 * recovery codes (both need a current code). A TOTP code is accepted at most once: the enrollment records the last
 * time step used, atomically.
 */
import { Clock, Duration, Effect, Option, Redacted } from "effect"
import { Conflict, InvalidCode, NotFound, TooManyAttempts } from "../../domain/errors.js"
import type * as M from "../../domain/models.js"
import { type ClientContext, type SignInProof, sha256Hex } from "../../plugin/index.js"
import { Events } from "../../services/events.js"
import { SecretBox } from "../../services/secrets.js"
import { SignIn } from "../../services/sign-in.js"
import { Store, UserStore } from "../../services/store/index.js"
import { MfaRequired } from "./errors.js"
import { MfaSettings } from "./options.js"
import { newRecoveryCode, normalizeRecoveryCode, recoveryCodeCount, recoveryCodeHash } from "./recovery.js"
import { type MfaEnrollment, MfaEnrollmentId, type MfaRecoveryCode, MfaStore, RecoveryCodeId } from "./store.js"
import { type TicketClaims, openTicket, sealTicket } from "./tickets.js"
import { isTotpCode, matchStep, newSeed, otpauthUrl } from "./totp.js"

/** The purpose the seeds are sealed under (`SecretBox`). */
const seedPurpose = "totp-seed"

/** A second factor a code proved. */
export type Factor = "totp" | "recovery_code"

export class MfaAuth extends Effect.Service<MfaAuth>()("authsome/MfaAuth", {
  effect: Effect.gen(function* () {
    const settings = yield* MfaSettings
    const store = yield* Store
    const mfa = yield* MfaStore
    const users = yield* UserStore
    const box = yield* SecretBox
    const signIn = yield* SignIn
    const events = yield* Events
    const now = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms))
    const recoveryKey = box.keyFor("mfa-recovery-code")

    const invalidCode = new InvalidCode({ message: "invalid code" })
    const invalidTicket = new InvalidCode({ message: "invalid or expired MFA ticket; sign in again" })
    const alreadyEnabled = new Conflict({ message: "MFA is already enabled; disable it first" })
    const notEnabled = new NotFound({ entity: "mfa_enrollment" })

    const requiredFor = (app: M.App) =>
      settings.required === true || (Array.isArray(settings.required) && settings.required.includes(app.slug))

    const verifiedEnrollment = (user: M.User) =>
      Effect.map(
        mfa.getEnrollment(user.id, "totp"),
        Option.filter((enrollment) => enrollment.verified),
      )

    /** The verified enrollment; `NotFound` while MFA is off. */
    const enabledEnrollment = (user: M.User) =>
      Effect.flatMap(
        verifiedEnrollment(user),
        Option.match({ onNone: () => Effect.fail(notEnabled), onSome: Effect.succeed }),
      )

    /** A TOTP code of the enrollment, accepted at most once (its step must be later than the last one used). */
    const acceptTotp = (enrollment: MfaEnrollment, code: string) =>
      Effect.gen(function* () {
        if (!isTotpCode(code)) return false
        const at = yield* Clock.currentTimeMillis
        const step = matchStep(box.open(seedPurpose, enrollment.secret), code, at)
        return step !== undefined && (yield* mfa.useStep(enrollment.id, step, new Date(at)))
      })

    /** One of the user's unused recovery codes, consumed. */
    const acceptRecoveryCode = (user: M.User, code: string) =>
      Effect.gen(function* () {
        const canonical = normalizeRecoveryCode(code)
        if (canonical === undefined) return false
        return yield* mfa.consumeRecoveryCode(user.id, recoveryCodeHash(recoveryKey, user.id, canonical), yield* now)
      })

    /** The factor `code` proves for a verified enrollment: a TOTP code or a recovery code, each usable once. */
    const prove = (user: M.User, enrollment: MfaEnrollment, code: string) =>
      isTotpCode(code)
        ? Effect.map(acceptTotp(enrollment, code), (ok) => (ok ? Option.some<Factor>("totp") : Option.none()))
        : Effect.map(acceptRecoveryCode(user, code), (ok) =>
            ok ? Option.some<Factor>("recovery_code") : Option.none(),
          )

    /** Replaces the user's recovery codes with fresh ones; returns them in clear (shown once). */
    const renewRecoveryCodes = (user: M.User, at: Date) =>
      Effect.gen(function* () {
        const plain = Array.from({ length: recoveryCodeCount }, newRecoveryCode)
        const rows = plain.map(
          (code): MfaRecoveryCode => ({
            id: RecoveryCodeId.make(),
            appId: user.appId,
            userId: user.id,
            codeHash: recoveryCodeHash(recoveryKey, user.id, normalizeRecoveryCode(code)!),
            usedAt: null,
            createdAt: at,
          }),
        )
        yield* mfa.replaceRecoveryCodes(user.id, rows)
        return plain
      })

    /**
     * Starts a TOTP enrollment (replacing an unconfirmed one): the seed, in clear this once, and its `otpauth://`
     * URL. `Conflict` while MFA is enabled.
     */
    const enroll = (user: M.User, client: ClientContext) =>
      store.transaction(
        Effect.gen(function* () {
          const at = yield* now
          const existing = yield* mfa.getEnrollment(user.id, "totp")
          if (Option.isSome(existing)) {
            if (existing.value.verified) return yield* alreadyEnabled
            yield* mfa.deleteEnrollment(existing.value.id).pipe(Effect.catchTag("NotFound", () => alreadyEnabled))
          }
          const seed = newSeed()
          const enrollment = yield* mfa.createEnrollment({
            id: MfaEnrollmentId.make(),
            appId: user.appId,
            userId: user.id,
            method: "totp",
            secret: box.seal(seedPurpose, seed),
            verified: false,
            lastUsedStep: null,
            createdAt: at,
            updatedAt: at,
          })
          yield* events.emit(client, { type: "auth.mfa.enrollment_started", userId: user.id })
          return { id: enrollment.id, secret: seed, otpauthUrl: otpauthUrl(seed, settings.issuer, user.email) }
        }),
      )

    /** Turns the confirmed enrollment on: verified, fresh recovery codes, `auth.mfa.enrolled`. */
    const activate = (user: M.User, enrollment: MfaEnrollment, client: ClientContext) =>
      store.transaction(
        Effect.gen(function* () {
          const at = yield* now
          yield* mfa.markVerified(enrollment.id, at).pipe(Effect.catchTag("NotFound", () => invalidCode))
          const codes = yield* renewRecoveryCodes(user, at)
          yield* events.emit(client, { type: "auth.mfa.enrolled", userId: user.id, metadata: { method: "totp" } })
          return codes
        }),
      )

    /** Confirms the pending enrollment with a first code; returns the recovery codes (shown once). */
    const confirm = (user: M.User, code: string, client: ClientContext) =>
      Effect.gen(function* () {
        const pending = yield* mfa.getEnrollment(user.id, "totp")
        if (Option.isNone(pending)) return yield* notEnabled
        if (pending.value.verified) return yield* alreadyEnabled
        if (!(yield* acceptTotp(pending.value, code))) return yield* invalidCode
        return yield* activate(user, pending.value, client)
      })

    /** Disables MFA; a current code (TOTP or recovery code) proves the user still holds the factor. */
    const disable = (user: M.User, code: string, client: ClientContext) =>
      Effect.gen(function* () {
        const enrollment = yield* enabledEnrollment(user)
        const factor = yield* prove(user, enrollment, code)
        if (Option.isNone(factor)) return yield* invalidCode
        yield* store.transaction(
          Effect.gen(function* () {
            yield* mfa.deleteEnrollment(enrollment.id).pipe(Effect.catchTag("NotFound", () => notEnabled))
            yield* mfa.replaceRecoveryCodes(user.id, [])
            yield* events.emit(client, {
              type: "auth.mfa.disabled",
              userId: user.id,
              metadata: { method: "totp", proven_by: factor.value },
            })
          }),
        )
      })

    /** New recovery codes (the old ones stop working); a current code is required. */
    const regenerateRecoveryCodes = (user: M.User, code: string, client: ClientContext) =>
      Effect.gen(function* () {
        const enrollment = yield* enabledEnrollment(user)
        if (Option.isNone(yield* prove(user, enrollment, code))) return yield* invalidCode
        return yield* store.transaction(
          Effect.gen(function* () {
            const codes = yield* renewRecoveryCodes(user, yield* now)
            yield* events.emit(client, { type: "auth.mfa.recovery_codes_regenerated", userId: user.id })
            return codes
          }),
        )
      })

    /**
     * The sign-in gate (`beforeSignIn`): a user with MFA enabled, or of an app that requires it, gets
     * `MfaRequired` with a ticket instead of a session, unless the sign-in already proved a second factor.
     */
    const gate = (user: M.User, client: ClientContext, method: string, proof: SignInProof) =>
      Effect.gen(function* () {
        if (proof.secondFactor !== undefined) return
        const enrollment = yield* verifiedEnrollment(user)
        const enrolled = Option.isSome(enrollment)
        if (!enrolled && !requiredFor(client.app)) return
        const at = yield* Clock.currentTimeMillis
        const ticket = sealTicket(box, {
          userId: user.id,
          appId: client.app.id,
          envId: client.env.id,
          method,
          purpose: enrolled ? "challenge" : "enrollment",
          expiresAt: at + Duration.toMillis(settings.ticketTtl),
        })
        const withRecoveryCodes = enrolled && (yield* mfa.countUnusedRecoveryCodes(user.id)) > 0
        return yield* new MfaRequired({
          ticket: Redacted.make(ticket),
          availableMethods: withRecoveryCodes ? ["totp", "recovery_code"] : ["totp"],
          enrollmentRequired: !enrolled,
        })
      })

    /** The ticket's claims and user; `InvalidCode` for a forged, expired or foreign ticket. */
    const ticketUser = (ticket: string, client: ClientContext, purpose?: TicketClaims["purpose"]) =>
      Effect.gen(function* () {
        const claims = openTicket(box, ticket, client, yield* Clock.currentTimeMillis)
        if (Option.isNone(claims) || (purpose !== undefined && claims.value.purpose !== purpose)) {
          return yield* invalidTicket
        }
        const user = yield* users.get(claims.value.userId).pipe(Effect.catchTag("NotFound", () => invalidTicket))
        return { claims: claims.value, user }
      })

    /** Starts the enrollment an app's requirement asks for, with the ticket of the refused sign-in. */
    const enrollWithTicket = (ticket: string, client: ClientContext) =>
      Effect.flatMap(ticketUser(ticket, client, "enrollment"), ({ user }) => enroll(user, client))

    /**
     * Completes a sign-in refused by the gate: counts one try of the ticket (at most `ticketMaxAttempts`, then
     * `TooManyAttempts`) before checking the code, then signs in through `SignIn.complete` with the factor as proof.
     * For an enrollment ticket the code confirms the pending enrollment, and the recovery codes come back too.
     */
    const challenge = (ticket: string, code: string, client: ClientContext) =>
      Effect.gen(function* () {
        const { claims, user } = yield* ticketUser(ticket, client)
        const at = yield* now
        yield* mfa.deleteExpiredTickets(at)
        const ticketHash = sha256Hex(ticket)
        const tries = yield* mfa.chargeTicket(
          {
            ticketHash,
            appId: claims.appId,
            userId: claims.userId,
            expiresAt: new Date(claims.expiresAt),
            createdAt: at,
          },
          settings.ticketMaxAttempts,
        )
        const spent = new TooManyAttempts({ message: "this MFA ticket is used up; sign in again" })
        if (Option.isNone(tries)) return yield* spent
        const refuse = tries.value >= settings.ticketMaxAttempts ? spent : invalidCode

        const enrollment = yield* mfa.getEnrollment(user.id, "totp")
        if (Option.isNone(enrollment)) return yield* invalidTicket
        let factor: Factor
        if (enrollment.value.verified) {
          const proven = yield* prove(user, enrollment.value, code)
          if (Option.isNone(proven)) return yield* refuse
          factor = proven.value
        } else {
          // Only an enrollment ticket may confirm an enrollment; a challenge ticket's MFA was disabled meanwhile.
          if (claims.purpose !== "enrollment") return yield* invalidTicket
          if (!(yield* acceptTotp(enrollment.value, code))) return yield* refuse
          factor = "totp"
        }
        if (!(yield* mfa.consumeTicket(ticketHash, at))) return yield* spent
        const recoveryCodes = enrollment.value.verified ? undefined : yield* activate(user, enrollment.value, client)
        const tokens = yield* signIn.complete(user, client, claims.method, { secondFactor: factor })
        return { user, tokens, recoveryCodes }
      })

    /** The user's MFA state for `GET /me/export` (never the seed or the codes). */
    const exportUserData = (user: M.User) =>
      Effect.gen(function* () {
        const enrollment = yield* mfa.getEnrollment(user.id, "totp")
        return {
          mfa: Option.isNone(enrollment)
            ? null
            : {
                method: enrollment.value.method,
                verified: enrollment.value.verified,
                created_at: enrollment.value.createdAt.toISOString(),
                recovery_codes_remaining: yield* mfa.countUnusedRecoveryCodes(user.id),
              },
        }
      })

    /** Whether the user's MFA is on (a verified enrollment). */
    const isEnabled = (user: M.User) => Effect.map(verifiedEnrollment(user), Option.isSome)

    return {
      isEnabled,
      enroll,
      confirm,
      disable,
      regenerateRecoveryCodes,
      gate,
      enrollWithTicket,
      challenge,
      exportUserData,
    } as const
  }),
}) {}
