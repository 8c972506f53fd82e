/**
 * The standalone server: the engine on PostgreSQL (`DATABASE_URL`) or on the embedded database, served by node:http.
 * The port opens only after migrations; SIGTERM/SIGINT stop accepting, let in-flight requests finish (up to 10 s),
 * then close the pool.
 */
import { createServer, type Server } from "node:http"
import { HttpMiddleware } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { Duration, Effect, Layer, Logger, LogLevel } from "effect"
import { Authsome } from "../engine.js"
import * as Pg from "../layers/pg.js"
import * as Pglite from "../layers/pglite.js"
import { PostgresStore } from "../layers/postgres/index.js"
import * as Password from "../plugins/password/plugin.js"
import type { ServerSettings } from "./env.js"

const shutdownGrace = Duration.seconds(10)

export const databaseLayer = (settings: ServerSettings) =>
  settings.databaseUrl
    ? Pg.layer(settings.databaseUrl, { maxConnections: settings.maxConnections })
    : Pglite.layer({ dataDir: settings.dataDir })

export const engineLayer = (settings: ServerSettings) =>
  Authsome.layer({ ...settings.engine, plugins: settings.engine.plugins ?? [Password.plugin()] }).pipe(
    Layer.provide(PostgresStore.layer),
    Layer.provide(databaseLayer(settings)),
  )

const listen = (server: Server, port: number, host: string) =>
  Effect.async<void, Error>((resume) => {
    const onError = (error: Error) => resume(Effect.fail(error))
    server.once("error", onError)
    server.listen(port, host, () => {
      server.off("error", onError)
      resume(Effect.void)
    })
  })

/**
 * Stops accepting, waits for in-flight requests up to the grace period, then drops what is left. A kept-alive
 * connection is closed as soon as its last response is done, not after `keepAliveTimeout`.
 */
const close = (server: Server) =>
  Effect.async<void>((resume) => {
    const timer = setTimeout(() => server.closeAllConnections(), Duration.toMillis(shutdownGrace))
    const sweep = setInterval(() => server.closeIdleConnections(), 50)
    server.close(() => {
      clearTimeout(timer)
      clearInterval(sweep)
      resume(Effect.void)
    })
    server.closeIdleConnections()
  })

export const serve = (settings: ServerSettings) =>
  Effect.gen(function* () {
    const authsome = yield* Authsome
    // The standalone server exports no traces: skip the platform's per-request span (URL parsing, header
    // redaction, attributes), which cost a sixth of a session check's CPU.
    const handler = yield* NodeHttpServer.makeHandler(authsome.httpApp).pipe(
      HttpMiddleware.withTracerDisabledWhenEffect(() => true),
    )
    const server = createServer({ keepAliveTimeout: 5_000 }, handler)
    yield* Effect.acquireRelease(listen(server, settings.port, settings.host), () =>
      Effect.zipRight(Effect.logInfo("shutting down"), close(server)),
    )
    const address = server.address()
    const port = typeof address === "object" && address ? address.port : settings.port
    yield* Effect.logInfo(`listening on http://${settings.host}:${port}${authsome.config.basePath}`).pipe(
      Effect.annotateLogs({
        app: authsome.defaultApp.slug,
        publishable_key: authsome.defaultApp.publishableKey,
        database: settings.databaseUrl ? "postgresql" : `embedded (${settings.dataDir})`,
      }),
    )
    return yield* Effect.never
  }).pipe(Effect.scoped, Effect.provide(engineLayer(settings)))

/**
 * Writes formatted log lines in batches: one write per turn of the event loop instead of one synchronous write per
 * line (stdout to a file or pipe is synchronous on Linux, and a request log line each request made it a fifth of the
 * server's CPU under load). Pending lines are flushed when the process exits.
 */
const batchedStdout = (format: Logger.Logger<unknown, string>) => {
  let pending: Array<string> = []
  let scheduled = false
  const flush = () => {
    scheduled = false
    if (pending.length === 0) return
    const out = `${pending.join("\n")}\n`
    pending = []
    process.stdout.write(out)
  }
  process.once("exit", flush)
  return Logger.map(format, (line) => {
    pending.push(line)
    if (!scheduled) {
      scheduled = true
      setImmediate(flush)
    }
  })
}

export const loggerLayer = (settings: ServerSettings) =>
  Layer.mergeAll(
    settings.logFormat === "pretty"
      ? Logger.pretty
      : Logger.replace(
          Logger.defaultLogger,
          batchedStdout(settings.logFormat === "json" ? Logger.jsonLogger : Logger.logfmtLogger),
        ),
    Logger.minimumLogLevel(
      { debug: LogLevel.Debug, info: LogLevel.Info, warn: LogLevel.Warning, error: LogLevel.Error }[settings.logLevel],
    ),
  )
