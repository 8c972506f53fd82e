/** Stores of the plugin tables (each created by its plugin's migration group). */
import { Context, type Effect, type Option } from "effect"
import type { Conflict, NotFound } from "../../domain/errors.js"
import type * as Id from "../../domain/ids.js"
import type * as M from "../../domain/models.js"

/** Password plugin: one PHC hash per user. */
export interface PasswordHashStoreShape {
  readonly get: (userId: Id.UserId) => Effect.Effect<Option.Option<M.PasswordHash>>
  /** Inserts or replaces the user's hash (keeping createdAt when it exists). */
  readonly set: (hash: M.PasswordHash) => Effect.Effect<void>
  readonly delete: (userId: Id.UserId) => Effect.Effect<void>
}
export class PasswordHashStore extends Context.Tag("authsome/PasswordHashStore")<
  PasswordHashStore,
  PasswordHashStoreShape
>() {}

/** MFA plugin: at most one enrollment per user and method; recovery codes stored hashed and used once. */
export interface MfaStoreShape {
  /** `Conflict` when the user already has an enrollment for that method. */
  readonly createEnrollment: (enrollment: M.MfaEnrollment) => Effect.Effect<M.MfaEnrollment, Conflict>
  readonly getEnrollment: (
    userId: Id.UserId,
    method: M.MfaEnrollment["method"],
  ) => Effect.Effect<Option.Option<M.MfaEnrollment>>
  readonly markVerified: (id: Id.MfaEnrollmentId, now: Date) => Effect.Effect<void, NotFound>
  /** Atomically records TOTP step `step` as used if it is later than the last used one; false otherwise. */
  readonly useStep: (id: Id.MfaEnrollmentId, step: number, now: Date) => Effect.Effect<boolean>
  readonly deleteEnrollment: (id: Id.MfaEnrollmentId) => Effect.Effect<void, NotFound>
  /** Replaces all of the user's recovery codes in one transaction. */
  readonly replaceRecoveryCodes: (userId: Id.UserId, codes: ReadonlyArray<M.MfaRecoveryCode>) => Effect.Effect<void>
  /** Marks the unused code with that hash used; true for exactly one of any number of concurrent callers. */
  readonly consumeRecoveryCode: (userId: Id.UserId, codeHash: string, now: Date) => Effect.Effect<boolean>
  readonly countUnusedRecoveryCodes: (userId: Id.UserId) => Effect.Effect<number>
}
export class MfaStore extends Context.Tag("authsome/MfaStore")<MfaStore, MfaStoreShape>() {}

/** Passkey plugin: WebAuthn credentials; credential ids are unique. */
export interface PasskeyStoreShape {
  readonly create: (passkey: M.Passkey) => Effect.Effect<M.Passkey, Conflict>
  readonly get: (id: Id.PasskeyId) => Effect.Effect<M.Passkey, NotFound>
  readonly findByCredentialId: (credentialId: string) => Effect.Effect<Option.Option<M.Passkey>>
  /** Newest first. */
  readonly listByUser: (userId: Id.UserId) => Effect.Effect<ReadonlyArray<M.Passkey>>
  /** Compare-and-swap of the signature counter; false when the stored counter is no longer `expected`. */
  readonly updateCounter: (id: Id.PasskeyId, expected: number, next: number, now: Date) => Effect.Effect<boolean>
  readonly delete: (id: Id.PasskeyId) => Effect.Effect<void, NotFound>
}
export class PasskeyStore extends Context.Tag("authsome/PasskeyStore")<PasskeyStore, PasskeyStoreShape>() {}

export type OAuthTokens = Pick<M.OAuthConnection, "accessToken" | "refreshToken" | "expiresAt" | "scope">

/** Social plugin: links between users and provider accounts; unique per app, provider and provider user. */
export interface OAuthConnectionStoreShape {
  readonly create: (connection: M.OAuthConnection) => Effect.Effect<M.OAuthConnection, Conflict>
  readonly findByProviderUser: (
    appId: Id.AppId,
    provider: string,
    providerUserId: string,
  ) => Effect.Effect<Option.Option<M.OAuthConnection>>
  /** Oldest first. */
  readonly listByUser: (userId: Id.UserId) => Effect.Effect<ReadonlyArray<M.OAuthConnection>>
  readonly updateTokens: (
    id: Id.OAuthConnectionId,
    tokens: OAuthTokens,
    now: Date,
  ) => Effect.Effect<M.OAuthConnection, NotFound>
  readonly delete: (userId: Id.UserId, provider: string) => Effect.Effect<void, NotFound>
}
export class OAuthConnectionStore extends Context.Tag("authsome/OAuthConnectionStore")<
  OAuthConnectionStore,
  OAuthConnectionStoreShape
>() {}
