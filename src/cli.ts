/**
 * The `authsome` command: `serve` (the standalone server) and `migrate [--status]`, on `DATABASE_URL` or the
 * embedded database, with the plugins `AUTHSOME_PLUGINS` mounts.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Console, Effect, Layer, Redacted } from "effect"
import { migrationGroups } from "./authsome.js"
import { PostgresStore } from "./layers/postgres/index.js"
import { Migrator } from "./migrations/migrator.js"
import { databaseLayer, serve } from "./server/main.js"
import { readServerSettings, type ServerSettings } from "./server/settings.js"
import { variables } from "./server/variables.js"
import { version } from "./version.js"

/**
 * Reads the settings and runs `f`. A bad setting ends the process with one line naming it; so does any failure to
 * start (a database that cannot be reached, with the cause and the sslmode; a failed migration; a port in use).
 */
const withSettings = <A, E, R>(f: (settings: ServerSettings) => Effect.Effect<A, E, R>) =>
  readServerSettings.pipe(
    Effect.catchTag("InvalidSetting", (error) =>
      Effect.zipRight(
        Console.error(`authsome: ${error.message}`),
        Effect.sync(() => process.exit(1)),
      ),
    ),
    Effect.flatMap((settings) =>
      f(settings).pipe(
        Effect.catchAll((error) =>
          Effect.zipRight(
            Console.error(`authsome: ${oneLine(error)}`),
            Effect.sync(() => process.exit(1)),
          ),
        ),
      ),
    ),
  )

/** A start-up failure as one line: its message, without stack or newlines. */
const oneLine = (error: unknown) => {
  const message =
    error instanceof Error || (typeof error === "object" && error !== null && "message" in error)
      ? String((error as { message: unknown }).message)
      : String(error)
  return message.split("\n")[0]!.trim() || "start-up failed"
}

/** Which database a command works on, without the password. */
const describeDatabase = (settings: ServerSettings) => {
  if (!settings.databaseUrl) return `embedded, in ${settings.dataDir}`
  try {
    const url = new URL(Redacted.value(settings.databaseUrl))
    return `PostgreSQL at ${url.hostname}:${url.port || "5432"}${url.pathname}`
  } catch {
    return "PostgreSQL"
  }
}

const migrate = (status: boolean, settings: ServerSettings) =>
  Effect.gen(function* () {
    const migrator = yield* Migrator
    yield* Console.log(`database: ${describeDatabase(settings)}`)
    if (status) {
      for (const row of yield* migrator.status) {
        const state = row.appliedAt ? `applied ${row.appliedAt.toISOString()}` : "pending"
        yield* Console.log(
          `${row.group.padEnd(18)} ${String(row.version).padStart(3)}  ${row.name.padEnd(48)} ${state}`,
        )
      }
      return
    }
    const applied = yield* migrator.migrate
    if (applied.length === 0) yield* Console.log("nothing to apply: the schema is up to date")
    for (const m of applied) yield* Console.log(`applied ${m.group} ${m.version} ${m.name}`)
  })

/** `migrate [--status]` on the settings' database, with the groups of the mounted plugins. */
const migrateCommand = (status: boolean) =>
  withSettings((settings) =>
    migrate(status, settings).pipe(
      Effect.provide(
        Migrator.make(migrationGroups(settings.plugins)).pipe(
          Layer.provide(PostgresStore.layer),
          Layer.provide(databaseLayer(settings)),
        ),
      ),
    ),
  )

const help = () =>
  [
    `authsome ${version}: the Authsome authentication server`,
    "",
    "Usage:",
    "  authsome serve                serve the API on PORT (migrations first)",
    "  authsome migrate [--status]   apply pending migrations (core and mounted plugins), or list them",
    "  authsome --help | --version",
    "",
    "Options:",
    "  --log-level debug|info|warn|error   the same as AUTHSOME_LOG_LEVEL",
    "",
    "Settings come from environment variables (a bad value stops start-up with one line naming it):",
    ...variables.map((v) => `  ${v.name.padEnd(36)} ${v.description} (default: ${v.default})`),
    "",
    "Plugins, policies and everything else: the JSON file named by AUTHSOME_CONFIG (see the README).",
  ].join("\n")

/**
 * The arguments as the commands take them: `--help`, `--version` and unknown commands answered here (plain text,
 * one line for a mistake), `--log-level` turned into AUTHSOME_LOG_LEVEL so it governs the server's logger.
 */
const parseArguments = (argv: ReadonlyArray<string>): ReadonlyArray<string> | undefined => {
  const args: Array<string> = []
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === "--log-level" || arg.startsWith("--log-level=")) {
      const level = (arg.includes("=") ? arg.split("=")[1] : argv[++i]) ?? ""
      if (!["debug", "info", "warn", "warning", "error"].includes(level)) {
        console.error(`authsome: --log-level: expected debug, info, warn or error, got "${level}"`)
        process.exitCode = 2
        return undefined
      }
      process.env.AUTHSOME_LOG_LEVEL = level === "warning" ? "warn" : level
    } else args.push(arg)
  }
  const [command, ...rest] = args
  if (
    command === undefined ||
    command === "--help" ||
    command === "-h" ||
    command === "help" ||
    rest.includes("--help")
  ) {
    console.log(help())
    return undefined
  }
  if (command === "--version" || command === "-v") {
    console.log(version)
    return undefined
  }
  const options: Record<string, ReadonlyArray<string>> = { serve: [], migrate: ["--status"] }
  const allowed = options[command]
  const problem =
    allowed === undefined
      ? `unknown command "${command}" (commands: serve, migrate)`
      : rest.find((arg) => !allowed.includes(arg)) !== undefined
        ? `${command}: unknown argument "${rest.find((arg) => !allowed.includes(arg))}"`
        : undefined
  if (problem !== undefined) {
    console.error(`authsome: ${problem}; see authsome --help`)
    process.exitCode = 2
    return undefined
  }
  return args
}

// The arguments are checked above, so running a command is a dispatch: no command-line framework to load (it was a
// measurable part of the start-up time: BENCHMARKS.md).
const args = parseArguments(process.argv.slice(2))
if (args !== undefined) {
  const program = args[0] === "serve" ? withSettings(serve) : migrateCommand(args.includes("--status"))
  NodeRuntime.runMain(program, { disablePrettyLogger: true })
}
