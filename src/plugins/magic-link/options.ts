/** The magic-link plugin's options: whether a link may create an account, and how long a link works. */
import { Context, Schema } from "effect"
import { DurationField, withDefault } from "../../config.js"

export const MagicLinkOptions = Schema.Struct({
  /** Whether a link mailed to an address without an account creates one (verified) when it is used. */
  allowSignup: withDefault(Schema.Boolean, () => false),
  /** How long a mailed link works. */
  tokenTtl: withDefault(DurationField, () => "10 minutes"),
}).annotations({ identifier: "MagicLinkOptions" })

export type MagicLinkOptionsInput = Schema.Schema.Encoded<typeof MagicLinkOptions>
export type ResolvedMagicLinkOptions = typeof MagicLinkOptions.Type

/** The plugin's decoded options, for its services. */
export class MagicLinkSettings extends Context.Tag("authsome/MagicLinkSettings")<
  MagicLinkSettings,
  ResolvedMagicLinkOptions
>() {}
