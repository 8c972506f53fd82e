/** The passkey plugin's table: WebAuthn credentials (credential ids are unique). */
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

export interface PasskeyStoreShape {
  readonly create: (passkey: Passkey) => Effect.Effect<Passkey, Conflict>
  readonly get: (id: PasskeyId) => Effect.Effect<Passkey, NotFound>
  readonly findByCredentialId: (credentialId: string) => Effect.Effect<Option.Option<Passkey>>
  /** Newest first. */
  readonly listByUser: (userId: UserId) => Effect.Effect<ReadonlyArray<Passkey>>
  /** Compare-and-swap of the signature counter; false when the stored counter is no longer `expected`. */
  readonly updateCounter: (id: PasskeyId, expected: number, next: number, now: Date) => Effect.Effect<boolean>
  readonly delete: (id: PasskeyId) => Effect.Effect<void, NotFound>
}
export class PasskeyStore extends Context.Tag("authsome/PasskeyStore")<PasskeyStore, PasskeyStoreShape>() {}
