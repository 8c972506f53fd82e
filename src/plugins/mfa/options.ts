/** The MFA plugin's options: the issuer shown by authenticator apps, which apps require MFA, the tickets' limits. */
import { Context, Schema } from "effect"
import { DurationField, withDefault } from "../../config.js"

const AppSlug = Schema.String.pipe(
  Schema.pattern(/^[a-z0-9][a-z0-9_-]{0,62}$/, { message: () => "expected an app slug" }),
)

export const MfaOptions = Schema.Struct({
  /** Shown by authenticator apps next to the account: the `issuer` of the `otpauth://` URL. */
  issuer: withDefault(
    Schema.String.pipe(
      Schema.pattern(/^[^:]{1,100}$/, { message: () => "expected 1 to 100 characters, without a colon" }),
    ),
    () => "Authsome",
  ),
  /**
   * The apps whose users must use a second factor: `true` for every app, or a list of app slugs. Their users
   * without one enroll before any sign-in completes (403 `mfa_required` with `enrollment_required: true`).
   */
  required: withDefault(Schema.Union(Schema.Boolean, Schema.Array(AppSlug)), () => false),
  /** How long the `mfa_ticket` of a sign-in waiting for its second factor lasts... */
  ticketTtl: withDefault(DurationField, () => "5 minutes"),
  /** ...and how many codes it may try. */
  ticketMaxAttempts: withDefault(Schema.Int.pipe(Schema.positive()), () => 5),
}).annotations({ identifier: "MfaOptions" })

export type MfaOptionsInput = Schema.Schema.Encoded<typeof MfaOptions>
export type ResolvedMfaOptions = typeof MfaOptions.Type

/** The plugin's decoded options, for its services. */
export class MfaSettings extends Context.Tag("authsome/MfaSettings")<MfaSettings, ResolvedMfaOptions>() {}
