/**
 * Standalone-server configuration from environment variables (and the optional JSON file `AUTHSOME_CONFIG` for what
 * variables cannot say). A bad value stops start-up with one line naming the variable.
 */
import { readFileSync } from "node:fs"
import { isIP } from "node:net"
import { Duration, Redacted } from "effect"
import type { AuthsomeConfig } from "../config.js"

export class EnvError extends Error {
  override readonly name = "EnvError"
}

export type LogFormat = "json" | "logfmt" | "pretty"
export type LogLevelName = "debug" | "info" | "warn" | "error"

export interface ServerSettings {
  readonly port: number
  readonly host: string
  readonly databaseUrl: Redacted.Redacted<string> | undefined
  readonly dataDir: string
  readonly maxConnections: number
  readonly logLevel: LogLevelName
  readonly logFormat: LogFormat
  readonly engine: AuthsomeConfig
}

type Env = Readonly<Record<string, string | undefined>>

const fail = (name: string, problem: string): never => {
  throw new EnvError(`invalid ${name}: ${problem}`)
}

const value = (env: Env, name: string) => {
  const raw = env[name]?.trim()
  return raw === undefined || raw === "" ? undefined : raw
}

const booleanVar = (env: Env, name: string, fallback: boolean) => {
  const raw = value(env, name)?.toLowerCase()
  if (raw === undefined) return fallback
  if (["true", "on", "1", "yes"].includes(raw)) return true
  if (["false", "off", "0", "no"].includes(raw)) return false
  return fail(name, `expected true/false, on/off or 1/0, got "${raw}"`)
}

const integerVar = (env: Env, name: string, fallback: number, min: number, max: number) => {
  const raw = value(env, name)
  if (raw === undefined) return fallback
  const n = Number(raw)
  if (!Number.isInteger(n) || n < min || n > max) return fail(name, `expected an integer from ${min} to ${max}`)
  return n
}

/** `3600` (seconds), `"1 hour"`, `"30 days"`. */
export const parseDuration = (name: string, raw: string): Duration.Duration => {
  if (/^\d+$/.test(raw)) return Number(raw) > 0 ? Duration.seconds(Number(raw)) : fail(name, "must be positive")
  const match = /^(\d+(?:\.\d+)?)\s*(ms|millis|seconds?|s|minutes?|m|hours?|h|days?|d|weeks?|w)$/i.exec(raw)
  if (!match) return fail(name, `expected seconds or a duration like "1 hour", got "${raw}"`)
  const amount = Number(match[1])
  const unit = match[2]!.toLowerCase()
  const millis: Record<string, number> = {
    ms: 1,
    millis: 1,
    s: 1000,
    m: 60_000,
    h: 3_600_000,
    d: 86_400_000,
    w: 604_800_000,
  }
  const key = unit.startsWith("ms") || unit === "millis" ? "ms" : unit[0]!
  const duration = Duration.millis(amount * millis[key]!)
  if (Duration.toMillis(duration) <= 0) return fail(name, "must be positive")
  return duration
}

const durationVar = (env: Env, name: string) => {
  const raw = value(env, name)
  return raw === undefined ? undefined : parseDuration(name, raw)
}

const urlVar = (env: Env, name: string) => {
  const raw = value(env, name)
  if (raw === undefined) return undefined
  try {
    const url = new URL(raw)
    if (url.protocol !== "http:" && url.protocol !== "https:") fail(name, "expected an http(s) URL")
    return raw.replace(/\/+$/, "")
  } catch (error) {
    if (error instanceof EnvError) throw error
    return fail(name, `expected a URL, got "${raw}"`)
  }
}

const listVar = (env: Env, name: string) =>
  value(env, name)
    ?.split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "")

const originsVar = (env: Env, name: string) =>
  listVar(env, name)?.map((origin) => {
    try {
      return new URL(origin).origin
    } catch {
      return fail(name, `"${origin}" is not an origin`)
    }
  })

const cidrsVar = (env: Env, name: string) =>
  listVar(env, name)?.map((cidr) => {
    const [network, bits] = cidr.split("/")
    const family = isIP(network ?? "")
    const max = family === 4 ? 32 : 128
    if (family === 0 || (bits !== undefined && !(Number.isInteger(Number(bits)) && +bits >= 0 && +bits <= max))) {
      fail(name, `"${cidr}" is not an IP address or CIDR`)
    }
    return cidr
  })

const databaseUrlVar = (env: Env) => {
  const raw = value(env, "DATABASE_URL")
  if (raw === undefined) return undefined
  try {
    const url = new URL(raw)
    if (url.protocol !== "postgres:" && url.protocol !== "postgresql:") fail("DATABASE_URL", "expected postgres://...")
  } catch (error) {
    if (error instanceof EnvError) throw error
    fail("DATABASE_URL", "expected postgres://user:password@host:5432/db")
  }
  return Redacted.make(raw)
}

const jsonConfig = (env: Env): Partial<AuthsomeConfig> => {
  const path = value(env, "AUTHSOME_CONFIG")
  if (path === undefined) return {}
  let text: string
  try {
    text = readFileSync(path, "utf8")
  } catch {
    return fail("AUTHSOME_CONFIG", `cannot read ${path}`)
  }
  try {
    const parsed: unknown = JSON.parse(text)
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
      fail("AUTHSOME_CONFIG", "expected a JSON object")
    return parsed as Partial<AuthsomeConfig>
  } catch (error) {
    if (error instanceof EnvError) throw error
    return fail("AUTHSOME_CONFIG", `${path} is not valid JSON`)
  }
}

const oneOf = <T extends string>(env: Env, name: string, allowed: ReadonlyArray<T>, fallback: T): T => {
  const raw = value(env, name)?.toLowerCase()
  if (raw === undefined) return fallback
  return (allowed as ReadonlyArray<string>).includes(raw)
    ? (raw as T)
    : fail(name, `expected one of ${allowed.join(", ")}`)
}

/** Reads the whole configuration; throws `EnvError` (one line, naming the variable) on the first bad value. */
export const readServerSettings = (env: Env = process.env): ServerSettings => {
  const file = jsonConfig(env)
  const tokenTtl = durationVar(env, "AUTHSOME_TOKEN_TTL")
  const refreshTokenTtl = durationVar(env, "AUTHSOME_REFRESH_TOKEN_TTL")
  const smtpUrl = value(env, "AUTHSOME_SMTP_URL")
  if (smtpUrl !== undefined && !/^smtps?:\/\//.test(smtpUrl)) fail("AUTHSOME_SMTP_URL", "expected smtp:// or smtps://")
  const secret = value(env, "AUTHSOME_SECRET")
  const publicUrl = urlVar(env, "AUTHSOME_PUBLIC_URL")
  const basePath = value(env, "AUTHSOME_BASE_PATH")
  if (basePath !== undefined && !/^\/[A-Za-z0-9/_-]*$/.test(basePath))
    fail("AUTHSOME_BASE_PATH", "expected a path like /v1/auth")
  const appId = value(env, "AUTHSOME_APP_ID")
  if (appId !== undefined && !/^[a-z0-9][a-z0-9_-]{0,62}$/.test(appId)) {
    fail("AUTHSOME_APP_ID", "expected a slug (lower-case letters, digits, - and _)")
  }
  const engine: AuthsomeConfig = {
    ...file,
    ...(appId !== undefined ? { appId } : {}),
    ...(basePath !== undefined ? { basePath } : {}),
    session: {
      ...file.session,
      ...(tokenTtl ? { tokenTtl } : {}),
      ...(refreshTokenTtl ? { refreshTokenTtl } : {}),
    },
    emailVerification: {
      ...file.emailVerification,
      required: booleanVar(env, "AUTHSOME_REQUIRE_EMAIL_VERIFICATION", file.emailVerification?.required ?? true),
    },
    rateLimit: { ...file.rateLimit, enabled: booleanVar(env, "AUTHSOME_RATE_LIMIT", file.rateLimit?.enabled ?? true) },
    lockout: { ...file.lockout, enabled: booleanVar(env, "AUTHSOME_LOCKOUT", file.lockout?.enabled ?? true) },
    ...(publicUrl !== undefined ? { publicUrl } : {}),
    ...(secret !== undefined ? { secret: Redacted.make(secret) } : {}),
    trustedOrigins: originsVar(env, "AUTHSOME_TRUSTED_ORIGINS") ?? file.trustedOrigins ?? [],
    ...((cidrsVar(env, "AUTHSOME_TRUSTED_PROXIES") ?? file.trustedProxies)
      ? { trustedProxies: cidrsVar(env, "AUTHSOME_TRUSTED_PROXIES") ?? file.trustedProxies! }
      : {}),
    mail: {
      ...file.mail,
      ...(value(env, "AUTHSOME_MAIL_FROM") !== undefined ? { from: value(env, "AUTHSOME_MAIL_FROM")! } : {}),
      ...(smtpUrl !== undefined ? { smtpUrl: Redacted.make(smtpUrl) } : {}),
    },
  }
  return {
    port: integerVar(env, "PORT", 8080, 0, 65535),
    host: value(env, "HOST") ?? "0.0.0.0",
    databaseUrl: databaseUrlVar(env),
    dataDir: value(env, "AUTHSOME_DATA_DIR") ?? "./.authsome/data",
    maxConnections: integerVar(env, "AUTHSOME_DB_MAX_CONNECTIONS", 25, 1, 1000),
    logLevel: oneOf(env, "AUTHSOME_LOG_LEVEL", ["debug", "info", "warn", "error"], "info"),
    logFormat: oneOf(env, "AUTHSOME_LOG_FORMAT", ["json", "logfmt", "pretty"], "logfmt"),
    engine,
  }
}
