/**
 * The engine's configuration: one `Schema` with every default. `Authsome.layer(config)` decodes what the host passes
 * (TypeScript values: `Duration`s, `Redacted` secrets, or their plain forms); the standalone server decodes the same
 * schema from the environment and the `AUTHSOME_CONFIG` file (`src/server/settings.ts`). Plugins own their options
 * (`Password.plugin({ policy })`), so nothing here names a plugin.
 */
import { Duration, Effect, ParseResult, Redacted, Schema } from "effect"

// --- field types ---------------------------------------------------------------------------------------------------

const durationPattern =
  /^(\d+(?:\.\d+)?)\s*(ms|millis|milliseconds?|s|secs?|seconds?|m|mins?|minutes?|h|hours?|d|days?|w|weeks?)$/i

const unitMillis = (unit: string): number => {
  const u = unit.toLowerCase()
  if (u === "ms" || u.startsWith("milli")) return 1
  if (u.startsWith("s")) return 1_000
  if (u.startsWith("m")) return 60_000
  if (u.startsWith("h")) return 3_600_000
  if (u.startsWith("d")) return 86_400_000
  return 604_800_000
}

/** `3600` or `"3600"` (seconds), `"1 hour"`, `"30 days"`, or a `Duration`; always positive. */
export const DurationField = Schema.transformOrFail(
  Schema.Union(Schema.Number, Schema.String, Schema.DurationFromSelf),
  Schema.DurationFromSelf,
  {
    strict: true,
    decode: (input, _, ast) => {
      let duration: Duration.Duration | undefined
      if (Duration.isDuration(input)) duration = input
      else if (typeof input === "number") duration = Number.isFinite(input) ? Duration.seconds(input) : undefined
      else {
        const text = input.trim()
        const match = /^\d+(\.\d+)?$/.test(text) ? [text, text, "s"] : durationPattern.exec(text)
        if (match) duration = Duration.millis(Number(match[1]) * unitMillis(match[2]!))
      }
      if (duration === undefined) {
        return ParseResult.fail(
          new ParseResult.Type(
            ast,
            input,
            `expected seconds or a duration like "1 hour", got ${JSON.stringify(input)}`,
          ),
        )
      }
      return Duration.toMillis(duration) > 0
        ? ParseResult.succeed(duration)
        : ParseResult.fail(new ParseResult.Type(ast, input, "must be a positive duration"))
    },
    encode: (duration) => ParseResult.succeed(duration),
  },
).annotations({ identifier: "Duration" })

/** A secret: a plain string (wrapped) or an already `Redacted` one. */
export const SecretField = Schema.Union(Schema.RedactedFromSelf(Schema.String), Schema.Redacted(Schema.String))

/** The root secret: long enough that it cannot be guessed from what it keys (http-api.md §3 "Secrets"). */
export const minSecretLength = 32
const RootSecret = SecretField.pipe(
  Schema.filter((secret) =>
    Redacted.value(secret).length >= minSecretLength ? true : `must be at least ${minSecretLength} characters`,
  ),
)

const Positive = Schema.Int.pipe(Schema.positive())

const HttpUrl = Schema.String.pipe(
  Schema.filter((value) => {
    try {
      const url = new URL(value)
      return url.protocol === "http:" || url.protocol === "https:" ? undefined : "expected an http(s) URL"
    } catch {
      return `expected a URL, got ${JSON.stringify(value)}`
    }
  }),
)

const Origin = Schema.transformOrFail(Schema.String, Schema.String, {
  strict: true,
  decode: (value, _, ast) => {
    try {
      return ParseResult.succeed(new URL(value).origin)
    } catch {
      return ParseResult.fail(new ParseResult.Type(ast, value, `${JSON.stringify(value)} is not an origin`))
    }
  },
  encode: ParseResult.succeed,
})

const Cidr = Schema.String.pipe(
  Schema.filter((value) => {
    const [network, bits, extra] = value.split("/")
    const v4 = /^(\d{1,3})(\.\d{1,3}){3}$/.test(network ?? "")
    const v6 = !v4 && (network ?? "").includes(":")
    const max = v4 ? 32 : 128
    const bitsOk = bits === undefined || (/^\d+$/.test(bits) && Number(bits) <= max)
    return (v4 || v6) && bitsOk && extra === undefined
      ? undefined
      : `${JSON.stringify(value)} is not an IP address or CIDR`
  }),
)

const BasePath = Schema.transform(Schema.String, Schema.String, {
  strict: true,
  decode: (path) => {
    const trimmed = path.trim().replace(/\/+$/, "")
    if (trimmed === "") return ""
    return trimmed.startsWith("/") ? trimmed : `/${trimmed}`
  },
  encode: (path) => path,
}).pipe(Schema.pattern(/^(\/[A-Za-z0-9._~-]+)*$/, { message: () => "expected a path like /v1/auth" }))

const Slug = Schema.String.pipe(
  Schema.pattern(/^[a-z0-9][a-z0-9_-]{0,62}$/, {
    message: () => "expected a slug (lower-case letters, digits, - and _)",
  }),
)

/** A fixed window: at most `limit` requests per `window`. */
export const RateLimitRule = Schema.Struct({ limit: Positive, window: DurationField })
export type RateLimitRule = typeof RateLimitRule.Type

/** An optional field whose default is `value` decoded (so defaults are written in the same form as input). */
export const withDefault = <S extends Schema.Schema<any, any, never>>(
  schema: S,
  value: () => Schema.Schema.Encoded<S>,
) => Schema.optionalWith(schema, { default: () => Schema.decodeUnknownSync(schema)(value()) as Schema.Schema.Type<S> })

/** A nested object whose fields all have defaults; absent means all defaults. */
const section = <Fields extends Schema.Struct.Fields>(fields: Fields) => {
  const struct = Schema.Struct(fields)
  const decode = Schema.decodeUnknownSync(struct as unknown as Schema.Schema<Schema.Struct.Type<Fields>>)
  return Schema.optionalWith(struct, { default: () => decode({}) })
}

// --- the configuration ---------------------------------------------------------------------------------------------

export const MailDispatcherConfig = Schema.Struct({
  pollInterval: withDefault(DurationField, () => "1 second"),
  batchSize: withDefault(Positive, () => 20),
  concurrency: withDefault(Positive, () => 5),
  lease: withDefault(DurationField, () => "5 minutes"),
  sendTimeout: withDefault(DurationField, () => "2 minutes"),
  retryBase: withDefault(DurationField, () => "5 seconds"),
  retryMax: withDefault(DurationField, () => "15 minutes"),
  maxAttempts: withDefault(Positive, () => 10),
  wakeUpDelay: withDefault(DurationField, () => "25 millis"),
})

/** Webhook delivery (http-api.md §5): Svix's retry schedule, the per-attempt timeout and the SSRF guard. */
export const WebhooksConfig = Schema.Struct({
  /** The waits before each retry (each with up to 20 % jitter); after the last one the delivery is `failed`. */
  retrySchedule: withDefault(Schema.Array(DurationField).pipe(Schema.maxItems(20)), () => [
    "5 seconds",
    "5 minutes",
    "30 minutes",
    "2 hours",
    "5 hours",
    "10 hours",
    "10 hours",
  ]),
  timeout: withDefault(DurationField, () => "10 seconds"),
  /** Deliver to loopback, private, link-local, ... addresses too (development and tests only). */
  allowPrivateTargets: withDefault(Schema.Boolean, () => false),
  /** Deliveries in flight at once per instance. */
  concurrency: withDefault(Positive, () => 64),
  /**
   * Deliveries in flight at once for one webhook per instance; three quarters of `concurrency` when unset. A receiver
   * whose last attempt failed gets one at a time. So a slow or dead receiver's backlog always leaves slots to the
   * others.
   */
  concurrencyPerWebhook: Schema.optional(Positive),
  pollInterval: withDefault(DurationField, () => "1 second"),
})

export const AuthsomeConfig = Schema.Struct({
  /** Slug (and name) of the default app, created at start when missing. */
  appId: withDefault(Slug, () => "default"),
  basePath: withDefault(BasePath, () => "/v1/auth"),
  session: section({
    tokenTtl: withDefault(DurationField, () => "1 hour"),
    refreshTokenTtl: withDefault(DurationField, () => "30 days"),
    /** A refresh token presented again this soon after its rotation is refused without revoking its family. */
    refreshReuseInterval: withDefault(DurationField, () => "10 seconds"),
  }),
  emailVerification: section({
    required: withDefault(Schema.Boolean, () => true),
    codeTtl: withDefault(DurationField, () => "15 minutes"),
    maxAttempts: withDefault(Positive, () => 5),
  }),
  signupEnabled: withDefault(Schema.Boolean, () => true),
  rateLimit: section({
    enabled: withDefault(Schema.Boolean, () => true),
    /** Overrides of named rules (core and plugins declare their defaults); `false` turns one off. */
    rules: withDefault(
      Schema.Record({ key: Schema.String, value: Schema.Union(RateLimitRule, Schema.Literal(false)) }),
      () => ({}),
    ),
  }),
  lockout: section({
    enabled: withDefault(Schema.Boolean, () => true),
    maxAttempts: withDefault(Positive, () => 5),
    window: withDefault(DurationField, () => "15 minutes"),
    duration: withDefault(DurationField, () => "15 minutes"),
  }),
  /** Origins allowed by CORS and the CSRF rule (besides the server's own). */
  trustedOrigins: withDefault(Schema.Array(Origin), () => []),
  /** CIDRs whose `X-Forwarded-For` / `X-Forwarded-Proto` are believed. Default: loopback only. */
  trustedProxies: withDefault(Schema.Array(Cidr), () => ["127.0.0.0/8", "::1/128"]),
  /** The public URL of the server (or its front end): mailed links and the server's own origin. */
  publicUrl: Schema.optional(
    Schema.transform(HttpUrl, Schema.String, {
      strict: true,
      decode: (url) => url.replace(/\/+$/, ""),
      encode: (url) => url,
    }),
  ),
  /** The root secret: keys the hashes of short codes and the encryption of what the server must read back. */
  secret: Schema.optional(RootSecret),
  /** How often expired counters, verifications, resets and sessions are pruned (`Housekeeping`). */
  housekeeping: section({
    interval: withDefault(DurationField, () => "10 minutes"),
  }),
  /**
   * The hosted pages (sign-in, account, admin) under the path of `publicUrl`, next to the API. Off by default in the
   * library (a host's own paths stay its own); the standalone server turns them on (`AUTHSOME_UI`).
   */
  ui: section({
    enabled: withDefault(Schema.Boolean, () => false),
  }),
  mail: section({
    from: withDefault(Schema.String, () => "Authsome <no-reply@localhost>"),
    /** Shown in mail subjects and bodies; defaults to the app slug. */
    appName: Schema.optional(Schema.String),
    /** `smtp://user:pass@host:port`; without it (and without a host `mailer`) mail is logged. */
    smtpUrl: Schema.optional(SecretField),
    dispatcher: withDefault(MailDispatcherConfig, () => ({})),
  }),
  webhooks: withDefault(WebhooksConfig, () => ({})),
}).annotations({ identifier: "AuthsomeConfig" })

/** What a host writes: every field optional, durations and secrets in any accepted form. */
export type AuthsomeConfigInput = Schema.Schema.Encoded<typeof AuthsomeConfig>
/** The configuration with every default applied. */
export type ResolvedConfig = typeof AuthsomeConfig.Type
export type MailDispatcherSettings = typeof MailDispatcherConfig.Type
export type WebhooksSettings = typeof WebhooksConfig.Type

/** A configuration value that does not decode: one line naming the path. */
export class InvalidConfig extends Schema.TaggedError<InvalidConfig>()("InvalidConfig", {
  path: Schema.String,
  problem: Schema.String,
}) {
  override get message() {
    return this.path === "" ? this.problem : `${this.path}: ${this.problem}`
  }
}

/** The first issue of a parse error as `InvalidConfig` (path joined with dots). */
export const toInvalidConfig = (error: ParseResult.ParseError, prefix: ReadonlyArray<string> = []): InvalidConfig => {
  const [issue] = ParseResult.ArrayFormatter.formatErrorSync(error)
  const path = [...prefix, ...(issue?.path ?? []).map(String)].join(".")
  const problem = issue?.message ?? "invalid"
  return new InvalidConfig({
    path,
    problem: problem.startsWith("is unexpected") ? "unknown setting" : problem,
  })
}

/** Decodes a host's configuration; unknown keys are errors (a typo must not silently fall back to a default). */
export const resolveConfig = (input: unknown): Effect.Effect<ResolvedConfig, InvalidConfig> =>
  Schema.decodeUnknown(AuthsomeConfig, { onExcessProperty: "error" })(input ?? {}).pipe(
    Effect.mapError((error) => toInvalidConfig(error)),
  )

/** `resolveConfig` for tests and tools that hold a known-good configuration. */
export const resolveConfigSync = (input: AuthsomeConfigInput = {}): ResolvedConfig =>
  Schema.decodeUnknownSync(AuthsomeConfig, { onExcessProperty: "error" })(input)
