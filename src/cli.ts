/**
 * The `authsome` command: `serve` (the standalone server) and `migrate [--status]`, on `DATABASE_URL` or the
 * embedded database, with the plugins `AUTHSOME_PLUGINS` mounts.
 */
import { Command, Options } from "@effect/cli"
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Layer } from "effect"
import { migrationGroups } from "./authsome.js"
import { PostgresStore } from "./layers/postgres/index.js"
import { Migrator } from "./migrations/migrator.js"
import { databaseLayer, serve } from "./server/main.js"
import { readServerSettings, type ServerSettings } from "./server/settings.js"
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

const serveCommand = Command.make("serve", {}, () => withSettings(serve)).pipe(
  Command.withDescription("Serve the API on PORT (default 8080)"),
)

const migrate = (status: boolean) =>
  Effect.gen(function* () {
    const migrator = yield* Migrator
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

const migrateCommand = Command.make(
  "migrate",
  { status: Options.boolean("status").pipe(Options.withDescription("List applied and pending migrations")) },
  ({ status }) =>
    withSettings((settings) =>
      migrate(status).pipe(
        Effect.provide(
          Migrator.make(migrationGroups(settings.plugins)).pipe(
            Layer.provide(PostgresStore.layer),
            Layer.provide(databaseLayer(settings)),
          ),
        ),
      ),
    ),
).pipe(Command.withDescription("Apply pending migrations (core and every mounted plugin), or list them with --status"))

const command = Command.make("authsome").pipe(Command.withSubcommands([serveCommand, migrateCommand]))

Command.run(command, { name: "authsome", version })(process.argv).pipe(
  Effect.provide(NodeContext.layer),
  NodeRuntime.runMain({ disablePrettyLogger: true }),
)
