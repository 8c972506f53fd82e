/**
 * Standalone-server settings: the environment (read through the current `ConfigProvider`) merged over the optional
 * JSON file `AUTHSOME_CONFIG`, decoded with the engine's own `AuthsomeConfig` schema (and each plugin's options
 * schema). The first bad value is one `InvalidSetting` naming the variable, or the file and the JSON path.
 */
import { readFileSync } from "node:fs"
import { Config, Effect, Option, ParseResult, Redacted, Schema } from "effect"
import { AuthsomeConfig, type ResolvedConfig } from "../config.js"
import type { AnyPlugin } from "../plugin/plugin.js"
import { builtInPlugins } from "./plugins.js"

export type LogFormat = "json" | "logfmt" | "pretty"
export type LogLevelName = "debug" | "info" | "warn" | "error"

export interface ServerSettings {
  readonly port: number
  readonly host: string
  readonly databaseUrl: Redacted.Redacted<string> | undefined
  /** A streaming replica for lag-tolerant reads (`AUTHSOME_DATABASE_REPLICA_URL`). */
  readonly replicaUrl: Redacted.Redacted<string> | undefined
  readonly dataDir: string
  readonly maxConnections: number
  /** `transaction` behind a transaction-mode pooler (`AUTHSOME_DB_POOL_MODE`): no named prepared statements. */
  readonly poolMode: "session" | "transaction"
  readonly logLevel: LogLevelName
  readonly logFormat: LogFormat
  /** The engine's configuration, decoded (every default applied). */
  readonly engine: ResolvedConfig
  /** The mounted plugins (`AUTHSOME_PLUGINS`), configured from their sections of the file. */
  readonly plugins: ReadonlyArray<AnyPlugin>
}

/** A bad setting: `invalid NAME: problem`, one line. */
export class InvalidSetting extends Schema.TaggedError<InvalidSetting>()("InvalidSetting", {
  name: Schema.String,
  problem: Schema.String,
}) {
  override get message() {
    return `invalid ${this.name}: ${this.problem}`
  }
}

const fail = (name: string, problem: string) => Effect.fail(new InvalidSetting({ name, problem }))

/** A variable's trimmed value; empty counts as unset. */
const variable = (name: string) =>
  Effect.map(Config.option(Config.string(name)).pipe(Effect.orElseSucceed(() => Option.none<string>())), (value) =>
    Option.filter(
      Option.map(value, (raw) => raw.trim()),
      (raw) => raw !== "",
    ),
  )

const booleanFrom = (name: string, raw: string) => {
  const value = raw.toLowerCase()
  if (["true", "on", "1", "yes"].includes(value)) return Effect.succeed(true)
  if (["false", "off", "0", "no"].includes(value)) return Effect.succeed(false)
  return fail(name, `expected true/false, on/off or 1/0, got "${raw}"`)
}

const integerFrom = (name: string, raw: string, min: number, max: number) => {
  const n = Number(raw)
  return /^\d+$/.test(raw) && n >= min && n <= max
    ? Effect.succeed(n)
    : fail(name, `expected an integer from ${min} to ${max}`)
}

const oneOf = <T extends string>(name: string, raw: string, allowed: ReadonlyArray<T>) =>
  (allowed as ReadonlyArray<string>).includes(raw.toLowerCase())
    ? Effect.succeed(raw.toLowerCase() as T)
    : fail(name, `expected one of ${allowed.join(", ")}`)

const list = (raw: string) =>
  raw
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "")

/** Where each engine variable goes in the configuration, and how its text becomes a value. */
const engineVariables: ReadonlyArray<{
  readonly name: string
  readonly path: ReadonlyArray<string>
  readonly parse: (name: string, raw: string) => Effect.Effect<unknown, InvalidSetting>
}> = [
  { name: "AUTHSOME_APP_ID", path: ["appId"], parse: (_, raw) => Effect.succeed(raw) },
  { name: "AUTHSOME_BASE_PATH", path: ["basePath"], parse: (_, raw) => Effect.succeed(raw) },
  { name: "AUTHSOME_PUBLIC_URL", path: ["publicUrl"], parse: (_, raw) => Effect.succeed(raw) },
  { name: "AUTHSOME_SECRET", path: ["secret"], parse: (_, raw) => Effect.succeed(Redacted.make(raw)) },
  { name: "AUTHSOME_TRUSTED_ORIGINS", path: ["trustedOrigins"], parse: (_, raw) => Effect.succeed(list(raw)) },
  { name: "AUTHSOME_TRUSTED_PROXIES", path: ["trustedProxies"], parse: (_, raw) => Effect.succeed(list(raw)) },
  {
    name: "AUTHSOME_SMTP_URL",
    path: ["mail", "smtpUrl"],
    parse: (name, raw) =>
      /^smtps?:\/\//.test(raw) ? Effect.succeed(Redacted.make(raw)) : fail(name, "expected smtp:// or smtps://"),
  },
  { name: "AUTHSOME_UI", path: ["ui", "enabled"], parse: booleanFrom },
  { name: "AUTHSOME_MAIL_FROM", path: ["mail", "from"], parse: (_, raw) => Effect.succeed(raw) },
  { name: "AUTHSOME_REQUIRE_EMAIL_VERIFICATION", path: ["emailVerification", "required"], parse: booleanFrom },
  { name: "AUTHSOME_RATE_LIMIT", path: ["rateLimit", "enabled"], parse: booleanFrom },
  { name: "AUTHSOME_LOCKOUT", path: ["lockout", "enabled"], parse: booleanFrom },
  {
    name: "AUTHSOME_WEBHOOKS_ALLOW_PRIVATE_TARGETS",
    path: ["webhooks", "allowPrivateTargets"],
    parse: booleanFrom,
  },
  { name: "AUTHSOME_TOKEN_TTL", path: ["session", "tokenTtl"], parse: (_, raw) => Effect.succeed(raw) },
  { name: "AUTHSOME_REFRESH_TOKEN_TTL", path: ["session", "refreshTokenTtl"], parse: (_, raw) => Effect.succeed(raw) },
]

type Json = Record<string, unknown>

const isObject = (value: unknown): value is Json => typeof value === "object" && value !== null && !Array.isArray(value)

const setPath = (target: Json, path: ReadonlyArray<string>, value: unknown): Json => {
  const [head, ...rest] = path
  if (head === undefined) return target
  const inner = isObject(target[head]) ? (target[head] as Json) : {}
  return { ...target, [head]: rest.length === 0 ? value : setPath(inner, rest, value) }
}

const readFile = (path: string) =>
  Effect.try({
    try: () => readFileSync(path, "utf8"),
    catch: () => new InvalidSetting({ name: "AUTHSOME_CONFIG", problem: `cannot read ${path}` }),
  }).pipe(
    Effect.flatMap((text) =>
      Effect.try({
        try: () => JSON.parse(text) as unknown,
        catch: () => new InvalidSetting({ name: "AUTHSOME_CONFIG", problem: `${path} is not valid JSON` }),
      }),
    ),
    Effect.filterOrFail(
      isObject,
      () => new InvalidSetting({ name: "AUTHSOME_CONFIG", problem: "expected a JSON object" }),
    ),
  )

/** The first problem of a decoding, with its path: `session.tokenTtl: expected ...`. */
const firstIssue = (error: ParseResult.ParseError, prefix: ReadonlyArray<string> = []) => {
  const [issue] = ParseResult.ArrayFormatter.formatErrorSync(error)
  const path = [...prefix, ...(issue?.path ?? []).map(String)]
  const problem = issue?.message.startsWith("is unexpected") ? "unknown setting" : (issue?.message ?? "invalid")
  return { path, problem }
}

/** Reads and validates every setting. */
export const readServerSettings: Effect.Effect<ServerSettings, InvalidSetting> = Effect.gen(function* () {
  const configPath = yield* variable("AUTHSOME_CONFIG")
  const file = Option.isSome(configPath) ? yield* readFile(configPath.value) : {}

  const catalogue = builtInPlugins
  const pluginKeys = new Set(catalogue.map((plugin) => plugin.configKey))
  const engineFromFile: Json = {}
  const pluginSections: Json = {}
  for (const [key, value] of Object.entries(file)) {
    if (pluginKeys.has(key)) pluginSections[key] = value
    else engineFromFile[key] = value
  }

  // Variables override the file; remember which paths they set, to name them in errors.
  let engine: Json = engineFromFile
  const fromVariable = new Map<string, string>()
  for (const { name, path, parse } of engineVariables) {
    const raw = yield* variable(name)
    if (Option.isNone(raw)) continue
    engine = setPath(engine, path, yield* parse(name, raw.value))
    fromVariable.set(path.join("."), name)
  }

  const portVariable = yield* variable("PORT")
  const port = Option.isSome(portVariable) ? yield* integerFrom("PORT", portVariable.value, 0, 65535) : 8080
  // Mailed links and the CSRF rule's own origin: this server, as a browser on this machine reaches it.
  if (engine.publicUrl === undefined) engine = setPath(engine, ["publicUrl"], `http://localhost:${port}`)
  // The server serves its own pages (the targets of its mails) unless told not to.
  if (!isObject(engine.ui) || engine.ui.enabled === undefined) engine = setPath(engine, ["ui", "enabled"], true)

  const resolved = yield* Schema.decodeUnknown(AuthsomeConfig, { onExcessProperty: "error" })(engine).pipe(
    Effect.mapError((error) => {
      const { path, problem } = firstIssue(error)
      const variableName = [...fromVariable].find(([prefix]) => path.join(".").startsWith(prefix))?.[1]
      return variableName
        ? new InvalidSetting({ name: variableName, problem })
        : new InvalidSetting({ name: "AUTHSOME_CONFIG", problem: `${path.join(".")}: ${problem}` })
    }),
  )

  const requested = yield* variable("AUTHSOME_PLUGINS")
  const names = Option.isSome(requested) ? list(requested.value) : catalogue.map((plugin) => plugin.name)
  const plugins: Array<AnyPlugin> = []
  for (const name of names) {
    const entry = catalogue.find((plugin) => plugin.name === name)
    if (entry === undefined) {
      return yield* fail(
        "AUTHSOME_PLUGINS",
        `unknown plugin "${name}" (known: ${catalogue.map((p) => p.name).join(", ")})`,
      )
    }
    const section = pluginSections[entry.configKey] ?? {}
    yield* Schema.decodeUnknown(entry.options, { onExcessProperty: "error" })(section).pipe(
      Effect.mapError((error) => {
        const { path, problem } = firstIssue(error, [entry.configKey])
        return new InvalidSetting({ name: "AUTHSOME_CONFIG", problem: `${path.join(".")}: ${problem}` })
      }),
    )
    plugins.push(entry.make(section))
  }

  const databaseUrl = yield* variable("DATABASE_URL")
  if (Option.isSome(databaseUrl) && !/^postgres(ql)?:\/\/[^/]/.test(databaseUrl.value)) {
    return yield* fail("DATABASE_URL", "expected postgres://user:password@host:5432/db")
  }
  const replicaUrl = yield* variable("AUTHSOME_DATABASE_REPLICA_URL")
  if (Option.isSome(replicaUrl) && !/^postgres(ql)?:\/\/[^/]/.test(replicaUrl.value)) {
    return yield* fail("AUTHSOME_DATABASE_REPLICA_URL", "expected postgres://user:password@host:5432/db")
  }
  if (Option.isSome(replicaUrl) && Option.isNone(databaseUrl)) {
    return yield* fail("AUTHSOME_DATABASE_REPLICA_URL", "a read replica needs DATABASE_URL (its primary)")
  }
  const maxConnections = yield* variable("AUTHSOME_DB_MAX_CONNECTIONS")
  const poolMode = yield* variable("AUTHSOME_DB_POOL_MODE")
  const logLevel = yield* variable("AUTHSOME_LOG_LEVEL")
  const logFormat = yield* variable("AUTHSOME_LOG_FORMAT")
  return {
    port,
    host: Option.getOrElse(yield* variable("HOST"), () => "0.0.0.0"),
    databaseUrl: Option.getOrUndefined(Option.map(databaseUrl, Redacted.make)),
    replicaUrl: Option.getOrUndefined(Option.map(replicaUrl, Redacted.make)),
    dataDir: Option.getOrElse(yield* variable("AUTHSOME_DATA_DIR"), () => "./.authsome/data"),
    maxConnections: Option.isSome(maxConnections)
      ? yield* integerFrom("AUTHSOME_DB_MAX_CONNECTIONS", maxConnections.value, 1, 1000)
      : 25,
    poolMode: Option.isSome(poolMode)
      ? yield* oneOf("AUTHSOME_DB_POOL_MODE", poolMode.value, ["session", "transaction"] as const)
      : "session",
    logLevel: Option.isSome(logLevel)
      ? yield* oneOf("AUTHSOME_LOG_LEVEL", logLevel.value, ["debug", "info", "warn", "error"] as const)
      : "info",
    logFormat: Option.isSome(logFormat)
      ? yield* oneOf("AUTHSOME_LOG_FORMAT", logFormat.value, ["json", "logfmt", "pretty"] as const)
      : "logfmt",
    engine: resolved,
    plugins,
  } satisfies ServerSettings
})
