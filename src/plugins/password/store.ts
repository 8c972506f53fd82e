/** The password plugin's table: one argon2id PHC hash per user (`authsome_password_hashes`). */
import { Context, type Effect, type Option, Schema } from "effect"
import { AppId, UserId } from "../../domain/ids.js"

export const PasswordHash = Schema.Struct({
  userId: UserId,
  appId: AppId,
  /** PHC string (`$argon2id$v=19$m=...`). */
  hash: Schema.String,
  createdAt: Schema.DateFromSelf,
  updatedAt: Schema.DateFromSelf,
})
export type PasswordHash = typeof PasswordHash.Type

export interface PasswordHashStoreShape {
  readonly get: (userId: UserId) => Effect.Effect<Option.Option<PasswordHash>>
  /** Inserts or replaces the user's hash (keeping createdAt when it exists). */
  readonly set: (hash: PasswordHash) => Effect.Effect<void>
  readonly delete: (userId: UserId) => Effect.Effect<void>
}
export class PasswordHashStore extends Context.Tag("authsome/PasswordHashStore")<
  PasswordHashStore,
  PasswordHashStoreShape
>() {}
