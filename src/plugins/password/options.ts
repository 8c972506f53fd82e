/** The password plugin's options: the policy, the hash costs and the reset-token lifetime. */
import { Context, Schema } from "effect"
import { DurationField, withDefault } from "../../config.js"
import { defaultHashParams } from "./hasher.js"
import { defaultPasswordPolicy } from "./policy.js"

const Positive = Schema.Int.pipe(Schema.positive())
const Flag = Schema.Boolean

export const PasswordOptions = Schema.Struct({
  policy: withDefault(
    Schema.Struct({
      minLength: withDefault(Positive, () => defaultPasswordPolicy.minLength),
      maxLength: withDefault(Positive, () => defaultPasswordPolicy.maxLength),
      requireUppercase: withDefault(Flag, () => defaultPasswordPolicy.requireUppercase),
      requireLowercase: withDefault(Flag, () => defaultPasswordPolicy.requireLowercase),
      requireDigit: withDefault(Flag, () => defaultPasswordPolicy.requireDigit),
      requireSpecial: withDefault(Flag, () => defaultPasswordPolicy.requireSpecial),
      rejectCommon: withDefault(Flag, () => defaultPasswordPolicy.rejectCommon),
      rejectEmail: withDefault(Flag, () => defaultPasswordPolicy.rejectEmail),
    }),
    () => ({}),
  ),
  /** Argon2id costs; stored hashes weaker than these are re-hashed at the next sign-in. */
  hash: withDefault(
    Schema.Struct({
      memoryCost: withDefault(Positive, () => defaultHashParams.memoryCost),
      timeCost: withDefault(Positive, () => defaultHashParams.timeCost),
      parallelism: withDefault(Positive, () => defaultHashParams.parallelism),
    }),
    () => ({}),
  ),
  /** Hashes computed at once (worker threads). Default: one per CPU, at most 4. */
  hashConcurrency: Schema.optional(Positive),
  /** Hashes that may wait for a worker; past it password requests get 503 `unavailable` at once. Default 64. */
  hashQueue: Schema.optional(Schema.Int.pipe(Schema.nonNegative())),
  /** How long a mailed reset link works. */
  resetTokenTtl: withDefault(DurationField, () => "1 hour"),
}).annotations({ identifier: "PasswordOptions" })

export type PasswordOptionsInput = Schema.Schema.Encoded<typeof PasswordOptions>
export type ResolvedPasswordOptions = typeof PasswordOptions.Type

/** The plugin's decoded options, for its services. */
export class PasswordSettings extends Context.Tag("authsome/PasswordSettings")<
  PasswordSettings,
  ResolvedPasswordOptions
>() {}
