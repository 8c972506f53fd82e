/**
 * The passkey plugin's options: the relying party (id, name, the origins ceremonies may come from), how long a
 * challenge lasts and how much user verification to ask for. The relying party defaults to `publicUrl`.
 */
import { Context, Effect, ParseResult, Schema } from "effect"
import { DurationField, InvalidConfig, withDefault } from "../../config.js"
import type { ResolvedConfig } from "../../config.js"

const Hostname = Schema.String.pipe(
  Schema.pattern(/^(localhost|([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63})$/i, {
    message: () => "expected a host name (no scheme, port or path), e.g. example.com",
  }),
)

/** An origin (`https://app.example.com`); a URL is reduced to its origin. */
const Origin = Schema.transformOrFail(Schema.String, Schema.String, {
  strict: true,
  decode: (value, _, ast) => {
    try {
      const url = new URL(value)
      if (url.protocol === "https:" || url.protocol === "http:") return ParseResult.succeed(url.origin)
    } catch {}
    return ParseResult.fail(new ParseResult.Type(ast, value, `${JSON.stringify(value)} is not an http(s) origin`))
  },
  encode: ParseResult.succeed,
})

export const PasskeyOptions = Schema.Struct({
  /** The relying party id: the host passkeys are bound to. Default: the host of `publicUrl`. */
  rpId: Schema.optional(Hostname),
  /** The name authenticators show. */
  rpName: withDefault(Schema.String.pipe(Schema.minLength(1), Schema.maxLength(100)), () => "Authsome"),
  /** The origins ceremonies may come from (each the RP id or a subdomain of it). Default: that of `publicUrl`. */
  origins: Schema.optional(Schema.Array(Origin).pipe(Schema.minItems(1))),
  /** How long a ceremony's challenge can be answered. */
  challengeTtl: withDefault(DurationField, () => "5 minutes"),
  /**
   * Whether authenticators verify the user (PIN, biometrics): `preferred` asks, `required` refuses passkeys that
   * did not. A user-verified passkey sign-in counts as two factors (the MFA gate lets it pass).
   */
  userVerification: withDefault(Schema.Literal("required", "preferred", "discouraged"), () => "preferred" as const),
}).annotations({ identifier: "PasskeyOptions" })

export type PasskeyOptionsInput = Schema.Schema.Encoded<typeof PasskeyOptions>

export interface ResolvedPasskeyOptions extends Omit<typeof PasskeyOptions.Type, "rpId" | "origins"> {
  readonly rpId: string
  readonly origins: ReadonlyArray<string>
}

/** The plugin's decoded options with the relying party's defaults applied, for its services. */
export class PasskeySettings extends Context.Tag("authsome/PasskeySettings")<
  PasskeySettings,
  ResolvedPasskeyOptions
>() {}

/** Where the server is reached when no `publicUrl` is configured (as for mailed links). */
const developmentUrl = "http://localhost:8080"

const isWithin = (origin: string, rpId: string) => {
  const host = new URL(origin).hostname
  return host === rpId || host.endsWith(`.${rpId}`)
}

/** Applies the defaults from `publicUrl`; every origin must be the RP id's host or one of its subdomains. */
export const resolvePasskeyOptions = (
  options: typeof PasskeyOptions.Type,
  config: ResolvedConfig,
): Effect.Effect<ResolvedPasskeyOptions, InvalidConfig> => {
  const publicUrl = new URL(config.publicUrl ?? developmentUrl)
  const rpId = options.rpId?.toLowerCase() ?? publicUrl.hostname
  const origins = options.origins ?? [publicUrl.origin]
  const outside = origins.find((origin) => !isWithin(origin, rpId))
  return outside === undefined
    ? Effect.succeed({ ...options, rpId, origins })
    : Effect.fail(
        new InvalidConfig({
          path: "passkey.origins",
          problem: `${outside} is not on the relying party ${rpId} (nor a subdomain of it)`,
        }),
      )
}
