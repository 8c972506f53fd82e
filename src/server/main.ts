/**
 * The standalone server: the engine on PostgreSQL (`DATABASE_URL`) or on the embedded database, served by node:http.
 * The port opens only after migrations; SIGTERM/SIGINT stop accepting, let in-flight requests finish (up to 10 s),
 * then close the pool.
 */
import { createServer, type Server } from "node:http"
import { Duration, Effect, Layer } from "effect"
import { Authsome } from "../authsome.js"
import { answerClientError, toNodeHandler } from "../http/adapters.js"
import type { RequestLogEntry } from "../http/app.js"
import * as Pg from "../layers/pg.js"
import * as Pglite from "../layers/pglite.js"
import { PostgresStore } from "../layers/postgres/index.js"
import { devMailer } from "./dev-mailer.js"
import { makeServerLogging } from "./logging.js"
import { withRootSecret } from "./secret.js"
import type { ServerSettings } from "./settings.js"

const shutdownGrace = Duration.seconds(10)

export const databaseLayer = (settings: ServerSettings) => {
  if (!settings.databaseUrl) return Pglite.layer({ dataDir: settings.dataDir })
  const pool = { maxConnections: settings.maxConnections, poolMode: settings.poolMode }
  const primary = Pg.layer(settings.databaseUrl, pool)
  return settings.replicaUrl ? Pg.replicaLayer(settings.replicaUrl, pool).pipe(Layer.provideMerge(primary)) : primary
}

export const engineLayer = (settings: ServerSettings, requestLog?: (entry: RequestLogEntry) => void) =>
  Authsome.layer({
    ...settings.engine,
    plugins: settings.plugins,
    mailer: devMailer(process.stdout.isTTY === true),
    ...(requestLog ? { requestLog } : {}),
  }).pipe(Layer.provide(PostgresStore.layer), Layer.provide(databaseLayer(settings)))

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

/**
 * Serves until interrupted (SIGTERM/SIGINT under `NodeRuntime.runMain`), logging as configured. Refuses to start
 * without a root secret where one cannot be kept for it (see `withRootSecret`).
 */
export const serve = (configured: ServerSettings) =>
  Effect.flatMap(withRootSecret(configured), (settings) => serveWith(settings))

const serveWith = (settings: ServerSettings) => {
  const logging = makeServerLogging(settings)
  return Effect.gen(function* () {
    const authsome = yield* Authsome
    const handler = toNodeHandler(yield* Effect.runtime<never>(), authsome.handle)
    const server = createServer({ keepAliveTimeout: 5_000 }, (request, response) => handler(request, response))
    server.on("clientError", answerClientError)
    yield* Effect.acquireRelease(listen(server, settings.port, settings.host), () =>
      Effect.zipRight(Effect.logInfo("shutting down"), close(server)),
    )
    const address = server.address()
    const port = typeof address === "object" && address ? address.port : settings.port
    const pages = authsome.config.ui.enabled ? `; sign-in and account pages at ${authsome.config.publicUrl}/` : ""
    yield* Effect.logInfo(
      `listening on http://${settings.host}:${port}${authsome.config.basePath}${pages}; requests without ` +
        `X-Publishable-Key are for the default app "${authsome.defaultApp.slug}" (its publishable key, public, ` +
        "names it to clients)",
    ).pipe(
      Effect.annotateLogs({
        app: authsome.defaultApp.slug,
        publishable_key: authsome.defaultApp.publishableKey,
        database: settings.databaseUrl ? "postgresql" : `embedded (${settings.dataDir})`,
      }),
    )
    return yield* Effect.never
  }).pipe(Effect.scoped, Effect.provide(engineLayer(settings, logging.requestLog)), Effect.provide(logging.layer))
}
