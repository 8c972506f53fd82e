/**
 * The passkey plugin's tables: WebAuthn credentials (credential ids are unique) and the challenges of the
 * ceremonies in progress (each answered at most once, within its lifetime).
 */
import { Context, type Effect, type Option, Schema } from "effect"
import type { Conflict, NotFound } from "../../domain/errors.js"
import { AppId, defineId, UserId } from "../../domain/ids.js"

export const PasskeyId = defineId("apsk", "PasskeyId")
export type PasskeyId = typeof PasskeyId.schema.Type

export const Passkey = Schema.Struct({
  id: PasskeyId.schema,
  appId: AppId,
  userId: UserId,
  name: Schema.String,
  credentialId: Schema.String,
  publicKey: Schema.String,
  counter: Schema.Number,
  transports: Schema.Array(Schema.String),
  deviceType: Schema.NullOr(Schema.String),
  backedUp: Schema.Boolean,
  aaguid: Schema.NullOr(Schema.String),
  lastUsedAt: Schema.NullOr(Schema.DateFromSelf),
  createdAt: Schema.DateFromSelf,
})
export type Passkey = typeof Passkey.Type

export const PasskeyChallengeId = defineId("apch", "PasskeyChallengeId")
export type PasskeyChallengeId = typeof PasskeyChallengeId.schema.Type

/** One ceremony in progress: the challenge the authenticator must sign. */
export const PasskeyChallenge = Schema.Struct({
  id: PasskeyChallengeId.schema,
  appId: AppId,
  /** Who registers, or who a login by email is for; null for a discoverable login (or an unknown email). */
  userId: Schema.NullOr(UserId),
  kind: Schema.Literal("registration", "authentication"),
  /** base64url, as sent in the options and returned in the client data. */
  challenge: Schema.String,
  expiresAt: Schema.DateFromSelf,
  createdAt: Schema.DateFromSelf,
})
export type PasskeyChallenge = typeof PasskeyChallenge.Type

export interface PasskeyStoreShape {
  readonly create: (passkey: Passkey) => Effect.Effect<Passkey, Conflict>
  readonly get: (id: PasskeyId) => Effect.Effect<Passkey, NotFound>
  readonly findByCredentialId: (credentialId: string) => Effect.Effect<Option.Option<Passkey>>
  /** Newest first. */
  readonly listByUser: (userId: UserId) => Effect.Effect<ReadonlyArray<Passkey>>
  /** Compare-and-swap of the signature counter; false when the stored counter is no longer `expected`. */
  readonly updateCounter: (id: PasskeyId, expected: number, next: number, now: Date) => Effect.Effect<boolean>
  readonly rename: (id: PasskeyId, name: string) => Effect.Effect<Passkey, NotFound>
  readonly delete: (id: PasskeyId) => Effect.Effect<void, NotFound>
  /** Records a ceremony's challenge (challenges are unique). */
  readonly createChallenge: (challenge: PasskeyChallenge) => Effect.Effect<void>
  /**
   * Removes the challenge found by its id or its value and returns it, unless it expired by `now`. A challenge is
   * taken at most once: of any number of concurrent callers, one gets it.
   */
  readonly takeChallenge: (
    key: { readonly id: PasskeyChallengeId } | { readonly challenge: string },
    now: Date,
  ) => Effect.Effect<Option.Option<PasskeyChallenge>>
  /** Deletes the challenges that expired before `now`; returns how many. */
  readonly deleteExpiredChallenges: (now: Date) => Effect.Effect<number>
}
export class PasskeyStore extends Context.Tag("authsome/PasskeyStore")<PasskeyStore, PasskeyStoreShape>() {}
