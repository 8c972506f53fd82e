/**
 * The MFA plugin's tables: TOTP enrollments (seeds sealed), hashed single-use recovery codes, and the tries of the
 * MFA tickets handed out by the sign-in gate.
 */
import { Context, type Effect, type Option, Schema } from "effect"
import type { Conflict, NotFound } from "../../domain/errors.js"
import { AppId, defineId, UserId } from "../../domain/ids.js"

export const MfaEnrollmentId = defineId("amfa", "MfaEnrollmentId")
export type MfaEnrollmentId = typeof MfaEnrollmentId.schema.Type
export const RecoveryCodeId = defineId("arec", "RecoveryCodeId")
export type RecoveryCodeId = typeof RecoveryCodeId.schema.Type

export const MfaEnrollment = Schema.Struct({
  id: MfaEnrollmentId.schema,
  appId: AppId,
  userId: UserId,
  method: Schema.Literal("totp"),
  secret: Schema.String,
  verified: Schema.Boolean,
  /** The last TOTP time step accepted, so a code is accepted at most once. */
  lastUsedStep: Schema.NullOr(Schema.Number),
  createdAt: Schema.DateFromSelf,
  updatedAt: Schema.DateFromSelf,
})
export type MfaEnrollment = typeof MfaEnrollment.Type

export const MfaRecoveryCode = Schema.Struct({
  id: RecoveryCodeId.schema,
  appId: AppId,
  userId: UserId,
  codeHash: Schema.String,
  usedAt: Schema.NullOr(Schema.DateFromSelf),
  createdAt: Schema.DateFromSelf,
})
export type MfaRecoveryCode = typeof MfaRecoveryCode.Type

/**
 * The server-side state of one MFA ticket (the ticket itself is sealed and carries who signs in): how often it was
 * tried and whether it was used. The row is created by the ticket's first try.
 */
export const MfaTicket = Schema.Struct({
  /** SHA-256 of the ticket. */
  ticketHash: Schema.String,
  appId: AppId,
  userId: UserId,
  attempts: Schema.Number,
  consumedAt: Schema.NullOr(Schema.DateFromSelf),
  expiresAt: Schema.DateFromSelf,
  createdAt: Schema.DateFromSelf,
})
export type MfaTicket = typeof MfaTicket.Type
/** What the first try of a ticket records. */
export type NewMfaTicket = Omit<MfaTicket, "attempts" | "consumedAt">

/**
 * At most one enrollment per user and method; recovery codes stored hashed and used once; ticket tries counted
 * atomically.
 */
export interface MfaStoreShape {
  /** `Conflict` when the user already has an enrollment for that method. */
  readonly createEnrollment: (enrollment: MfaEnrollment) => Effect.Effect<MfaEnrollment, Conflict>
  readonly getEnrollment: (
    userId: UserId,
    method: MfaEnrollment["method"],
  ) => Effect.Effect<Option.Option<MfaEnrollment>>
  readonly markVerified: (id: MfaEnrollmentId, now: Date) => Effect.Effect<void, NotFound>
  /** Atomically records TOTP step `step` as used if it is later than the last used one; false otherwise. */
  readonly useStep: (id: MfaEnrollmentId, step: number, now: Date) => Effect.Effect<boolean>
  readonly deleteEnrollment: (id: MfaEnrollmentId) => Effect.Effect<void, NotFound>
  /** Replaces all of the user's recovery codes in one transaction. */
  readonly replaceRecoveryCodes: (userId: UserId, codes: ReadonlyArray<MfaRecoveryCode>) => Effect.Effect<void>
  /** Marks the unused code with that hash used; true for exactly one of any number of concurrent callers. */
  readonly consumeRecoveryCode: (userId: UserId, codeHash: string, now: Date) => Effect.Effect<boolean>
  readonly countUnusedRecoveryCodes: (userId: UserId) => Effect.Effect<number>
  /**
   * Counts one try of the ticket (its first try creates the row) and returns the tries counted so far, or `None`
   * when the ticket is spent: `maxAttempts` tries already counted, or used. Atomic: however many callers race, at
   * most `maxAttempts` of them ever get a count.
   */
  readonly chargeTicket: (ticket: NewMfaTicket, maxAttempts: number) => Effect.Effect<Option.Option<number>>
  /** Marks a tried ticket used; true for exactly one of any number of concurrent callers. */
  readonly consumeTicket: (ticketHash: string, now: Date) => Effect.Effect<boolean>
  /** Deletes the tickets that expired before `now`; returns how many. */
  readonly deleteExpiredTickets: (now: Date) => Effect.Effect<number>
}
export class MfaStore extends Context.Tag("authsome/MfaStore")<MfaStore, MfaStoreShape>() {}
