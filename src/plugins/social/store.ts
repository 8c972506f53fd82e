/** The social plugin's table: links between users and provider accounts. */
import { Context, type Effect, type Option, Schema } from "effect"
import type { Conflict, NotFound } from "../../domain/errors.js"
import { AppId, defineId, UserId } from "../../domain/ids.js"

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
