/**
 * The social plugin's tables: links between users and provider accounts, and the server-side state of sign-ins in
 * progress.
 */
import { Context, type Effect, type Option, Schema } from "effect"
import type { Conflict, NotFound } from "../../domain/errors.js"
import { AppId, defineId, EnvironmentId, UserId } from "../../domain/ids.js"

export const OAuthConnectionId = defineId("aoau", "OAuthConnectionId")
export type OAuthConnectionId = typeof OAuthConnectionId.schema.Type

export const OAuthConnection = Schema.Struct({
  id: OAuthConnectionId.schema,
  appId: AppId,
  userId: UserId,
  provider: Schema.String,
  providerUserId: Schema.String,
  email: Schema.NullOr(Schema.String),
  accessToken: Schema.NullOr(Schema.String),
  refreshToken: Schema.NullOr(Schema.String),
  expiresAt: Schema.NullOr(Schema.DateFromSelf),
  scope: Schema.NullOr(Schema.String),
  createdAt: Schema.DateFromSelf,
  updatedAt: Schema.DateFromSelf,
})
export type OAuthConnection = typeof OAuthConnection.Type

export type OAuthTokens = Pick<OAuthConnection, "accessToken" | "refreshToken" | "expiresAt" | "scope">

/** Unique per app, provider and provider user. */
export interface OAuthConnectionStoreShape {
  readonly create: (connection: OAuthConnection) => Effect.Effect<OAuthConnection, Conflict>
  readonly findByProviderUser: (
    appId: AppId,
    provider: string,
    providerUserId: string,
  ) => Effect.Effect<Option.Option<OAuthConnection>>
  /** Oldest first. */
  readonly listByUser: (userId: UserId) => Effect.Effect<ReadonlyArray<OAuthConnection>>
  readonly updateTokens: (
    id: OAuthConnectionId,
    tokens: OAuthTokens,
    now: Date,
  ) => Effect.Effect<OAuthConnection, NotFound>
  readonly delete: (userId: UserId, provider: string) => Effect.Effect<void, NotFound>
}
export class OAuthConnectionStore extends Context.Tag("authsome/OAuthConnectionStore")<
  OAuthConnectionStore,
  OAuthConnectionStoreShape
>() {}

/** A sign-in in progress: what the callback needs to finish it, kept on the server under the hash of `state`. */
export const OAuthState = Schema.Struct({
  /** SHA-256 of the `state` parameter. */
  stateHash: Schema.String,
  appId: AppId,
  envId: EnvironmentId,
  provider: Schema.String,
  /** The PKCE code verifier, sealed (`SecretBox`). */
  codeVerifier: Schema.String,
  /** The OpenID Connect nonce the ID token must carry. */
  nonce: Schema.String,
  /** Where the browser goes once signed in (already checked against the trusted origins). */
  redirectUrl: Schema.String,
  expiresAt: Schema.DateFromSelf,
  createdAt: Schema.DateFromSelf,
})
export type OAuthState = typeof OAuthState.Type

/** Single-use: a state is consumed by exactly one callback, and never after it expired. */
export interface OAuthStateStoreShape {
  readonly create: (state: OAuthState) => Effect.Effect<void>
  /**
   * Removes the state with that hash and returns it if it had not expired at `now`; exactly one of any number of
   * concurrent callers gets it.
   */
  readonly consume: (stateHash: string, now: Date) => Effect.Effect<Option.Option<OAuthState>>
  /** Removes the states that expired at or before `now`; returns how many. */
  readonly deleteExpired: (now: Date) => Effect.Effect<number>
}
export class OAuthStateStore extends Context.Tag("authsome/OAuthStateStore")<OAuthStateStore, OAuthStateStoreShape>() {}
