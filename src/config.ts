/**
 * Engine configuration: what `Authsome.layer(config)` takes. Every field has a secure default; durations accept
 * anything `Duration.decode` does ("1 hour", 3600_000 ms, Duration values).
 */
import { Duration, type Redacted } from "effect"
import type { Plugin } from "./plugin.js"
import { defaultHashParams, type HashParams } from "./plugins/password/hasher.js"
import type { MailDispatcherSettings } from "./services/mail/index.js"
import { defaultPasswordPolicy, type PasswordPolicy } from "./plugins/password/policy.js"

export interface RateLimitRule {
  readonly limit: number
  readonly window: Duration.DurationInput
}

/** Rate-limit rules by name; each can be replaced or turned off (`false`). */
export interface RateLimitRules {
  readonly signinIp: RateLimitRule | false
  readonly signinIdentifier: RateLimitRule | false
  readonly signupIp: RateLimitRule | false
  readonly mailIp: RateLimitRule | false
  readonly mailEmail: RateLimitRule | false
  readonly codeIp: RateLimitRule | false
  readonly refreshIp: RateLimitRule | false
  readonly introspectIp: RateLimitRule | false
}

export const defaultRateLimitRules: RateLimitRules = {
  signinIp: { limit: 10, window: "1 minute" },
  signinIdentifier: { limit: 5, window: "1 minute" },
  signupIp: { limit: 5, window: "1 minute" },
  mailIp: { limit: 3, window: "1 minute" },
  mailEmail: { limit: 3, window: "1 minute" },
  codeIp: { limit: 10, window: "1 minute" },
  refreshIp: { limit: 30, window: "1 minute" },
  introspectIp: { limit: 600, window: "1 minute" },
}

export interface AuthsomeConfig {
  /** Slug (and name) of the default app, created at start when missing. */
  readonly appId?: string
  readonly basePath?: string
  readonly session?: {
    readonly tokenTtl?: Duration.DurationInput
    readonly refreshTokenTtl?: Duration.DurationInput
  }
  readonly password?: Partial<PasswordPolicy> & {
    readonly hash?: Partial<HashParams>
    /** Hashes computed at once (worker threads). Default: one more than the CPUs, at most 4. */
    readonly hashConcurrency?: number
  }
  readonly emailVerification?: {
    readonly required?: boolean
    readonly codeTtl?: Duration.DurationInput
    readonly maxAttempts?: number
  }
  readonly passwordReset?: { readonly tokenTtl?: Duration.DurationInput }
  readonly signupEnabled?: boolean
  readonly rateLimit?: { readonly enabled?: boolean; readonly rules?: Partial<RateLimitRules> }
  readonly lockout?: {
    readonly enabled?: boolean
    readonly maxAttempts?: number
    readonly window?: Duration.DurationInput
    readonly duration?: Duration.DurationInput
  }
  /** Origins allowed by CORS and the CSRF rule (besides the server's own). */
  readonly trustedOrigins?: ReadonlyArray<string>
  /** CIDRs whose `X-Forwarded-For` / `X-Forwarded-Proto` are believed. Default: loopback only. */
  readonly trustedProxies?: ReadonlyArray<string>
  /** The public URL of the front end / server, used in mailed links and as the server's own origin. */
  readonly publicUrl?: string
  /** Pepper for hashing short codes (6-digit verification codes). */
  readonly secret?: Redacted.Redacted<string>
  readonly mail?: {
    readonly from?: string
    /** Shown in mail subjects and bodies; defaults to the app slug. */
    readonly appName?: string
    /** `smtp://user:pass@host:port`; without it (and without a `Mailer` provided) mail is logged. */
    readonly smtpUrl?: Redacted.Redacted<string>
    readonly dispatcher?: Partial<MailDispatcherSettings>
  }
  readonly plugins?: ReadonlyArray<Plugin>
  /**
   * Receives one entry per request. Default: `Effect.logInfo("request")` with the entry as annotations (the host's
   * logger decides). The standalone server writes the line itself, which is far cheaper on the hot path.
   */
  readonly requestLog?: (entry: RequestLogEntry) => void
}

export interface RequestLogEntry {
  readonly method: string
  readonly route: string
  readonly status: number
  readonly duration_ms: number
}

/** The configuration with every default applied and durations decoded. */
export interface ResolvedConfig {
  readonly appSlug: string
  readonly basePath: string
  readonly tokenTtl: Duration.Duration
  readonly refreshTokenTtl: Duration.Duration
  readonly passwordPolicy: PasswordPolicy
  readonly hashParams: HashParams
  readonly hashConcurrency: number | undefined
  readonly emailVerificationRequired: boolean
  readonly verificationCodeTtl: Duration.Duration
  readonly verificationMaxAttempts: number
  readonly resetTokenTtl: Duration.Duration
  readonly signupEnabled: boolean
  readonly rateLimitEnabled: boolean
  readonly rateLimitRules: RateLimitRules
  readonly lockout: {
    readonly enabled: boolean
    readonly maxAttempts: number
    readonly window: Duration.Duration
    readonly duration: Duration.Duration
  }
  readonly trustedOrigins: ReadonlyArray<string>
  readonly trustedProxies: ReadonlyArray<string>
  readonly publicUrl: string | undefined
  readonly secret: Redacted.Redacted<string> | undefined
  readonly mailFrom: string
  readonly appName: string
  readonly smtpUrl: Redacted.Redacted<string> | undefined
  readonly mailDispatcher: Partial<MailDispatcherSettings>
  readonly requestLog: ((entry: RequestLogEntry) => void) | undefined
}

const normalizeBasePath = (path: string) => {
  const trimmed = path.trim().replace(/\/+$/, "")
  if (trimmed === "") return ""
  return trimmed.startsWith("/") ? trimmed : `/${trimmed}`
}

export const resolveConfig = (config: AuthsomeConfig): ResolvedConfig => {
  const appSlug = config.appId ?? "default"
  return {
    appSlug,
    basePath: normalizeBasePath(config.basePath ?? "/v1/auth"),
    tokenTtl: Duration.decode(config.session?.tokenTtl ?? "1 hour"),
    refreshTokenTtl: Duration.decode(config.session?.refreshTokenTtl ?? "30 days"),
    passwordPolicy: { ...defaultPasswordPolicy, ...withoutHash(config.password) },
    hashParams: { ...defaultHashParams, ...config.password?.hash },
    hashConcurrency: config.password?.hashConcurrency,
    emailVerificationRequired: config.emailVerification?.required ?? true,
    verificationCodeTtl: Duration.decode(config.emailVerification?.codeTtl ?? "15 minutes"),
    verificationMaxAttempts: config.emailVerification?.maxAttempts ?? 5,
    resetTokenTtl: Duration.decode(config.passwordReset?.tokenTtl ?? "1 hour"),
    signupEnabled: config.signupEnabled ?? true,
    rateLimitEnabled: config.rateLimit?.enabled ?? true,
    rateLimitRules: { ...defaultRateLimitRules, ...config.rateLimit?.rules },
    lockout: {
      enabled: config.lockout?.enabled ?? true,
      maxAttempts: config.lockout?.maxAttempts ?? 5,
      window: Duration.decode(config.lockout?.window ?? "15 minutes"),
      duration: Duration.decode(config.lockout?.duration ?? "15 minutes"),
    },
    trustedOrigins: (config.trustedOrigins ?? []).map((o) => new URL(o).origin),
    trustedProxies: config.trustedProxies ?? ["127.0.0.0/8", "::1/128"],
    publicUrl: config.publicUrl?.replace(/\/+$/, ""),
    secret: config.secret,
    mailFrom: config.mail?.from ?? "Authsome <no-reply@localhost>",
    appName: config.mail?.appName ?? appSlug,
    smtpUrl: config.mail?.smtpUrl,
    mailDispatcher: config.mail?.dispatcher ?? {},
    requestLog: config.requestLog,
  }
}

const withoutHash = (password: AuthsomeConfig["password"]): Partial<PasswordPolicy> => {
  if (password === undefined) return {}
  const { hash: _hash, hashConcurrency: _concurrency, ...policy } = password
  return policy
}
