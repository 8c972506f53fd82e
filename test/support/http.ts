/**
 * Black-box HTTP testing: a real engine on a real PostgreSQL database (one per test file), served by node:http on a
 * free port, and a small fetch client with a cookie jar.
 */
import { createServer, type Server } from "node:http"
import { Effect, Layer, Logger, LogLevel, Redacted } from "effect"
import type { AuthsomeOptions as AuthsomeConfig } from "../../src/authsome.js"
import { Authsome } from "../../src/authsome.js"
import { answerClientError } from "../../src/http/adapters.js"
import { type AuthsomeHandlers, makeHandlers } from "../../src/http/mount.js"
import { StoreBackend } from "../../src/layers/backend.js"
import { MemoryStore } from "../../src/layers/memory/index.js"
import * as Pg from "../../src/layers/pg.js"
import * as Pglite from "../../src/layers/pglite.js"
import { PostgresStore } from "../../src/layers/postgres/index.js"
import * as Password from "../../src/plugins/password/index.js"
import { type PgBouncer, startPgBouncer } from "./pgbouncer.js"
import { adminUrl, createDatabase } from "./postgres.js"
import { TestSmtp } from "./smtp.js"

export interface TestServer {
  /** `http://127.0.0.1:<port>` */
  readonly origin: string
  /** origin + base path */
  readonly base: string
  readonly handlers: AuthsomeHandlers<any>
  readonly backend: Backend
  /** The PostgreSQL database (the `postgres` backend only). */
  readonly databaseUrl: string
  /** Raw SQL on the engine's database (the SQL backends: PostgreSQL and PGlite); rows as the driver gives them. */
  readonly sql: ((text: string, values?: ReadonlyArray<unknown>) => Promise<ReadonlyArray<any>>) | undefined
  readonly smtp: TestSmtp
  readonly close: () => Promise<void>
}

/** The root secret of the test servers (every instance of a test shares it). */
export const testSecret = "the root secret of the tests, at least 32 characters"

/** Fast mail retries so tests see deliveries promptly. */
export const fastMail = { pollInterval: "100 millis", retryBase: "100 millis", retryMax: "500 millis" } as const

/**
 * Which store `startServer` builds on: real PostgreSQL (the default), PostgreSQL behind PgBouncer in transaction mode
 * (every instance of the file through one pooler), embedded PGlite, or the memory store.
 */
export type Backend = "postgres" | "pgbouncer" | "pglite" | "memory"

let bouncer: { readonly started: Promise<PgBouncer>; users: number } | undefined

/** The file's PgBouncer, started by its first server and stopped with its last. */
const useBouncer = async () => {
  bouncer ??= { started: startPgBouncer({ target: adminUrl }), users: 0 }
  bouncer.users++
  const current = bouncer
  return {
    pooler: await current.started,
    release: async () => {
      if (--current.users > 0) return
      if (bouncer === current) bouncer = undefined
      await (await current.started).stop()
    },
  }
}

let currentBackend: Backend = "postgres"

/**
 * Makes every `startServer` of this test file use `backend`: a file that runs a suite on another store calls it,
 * then imports the suite (`test/http/on-memory.test.ts`).
 */
export const useBackend = (backend: Backend) => {
  currentBackend = backend
}

/** A read replica for `startServer`: its URL and options. */
export interface TestReplica extends Pg.ReplicaOptions {
  readonly url: string
}

const storeOn = (
  backend: Backend,
  databaseUrl: string | undefined,
  pool: Pg.PoolOptions = {},
  replica?: TestReplica,
) => {
  if (backend === "memory") return MemoryStore.layer
  if (backend === "pglite") return PostgresStore.layer.pipe(Layer.provide(Pglite.layer()))
  const primary = Pg.layer(databaseUrl!, { maxConnections: 10, minConnections: 0, ...pool })
  const database = replica
    ? Pg.replicaLayer(replica.url, { maxConnections: 5, minConnections: 0, ...replica }).pipe(
        Layer.provideMerge(primary),
      )
    : primary
  return PostgresStore.layer.pipe(Layer.provideMerge(database))
}

const engineOn = (
  backend: Backend,
  databaseUrl: string | undefined,
  config: AuthsomeConfig,
  logLevel: LogLevel.LogLevel = LogLevel.Warning,
  pool?: Pg.PoolOptions,
  replica?: TestReplica,
) =>
  Authsome.layer({ plugins: [Password.plugin()], ...config }).pipe(
    Layer.provide(storeOn(backend, databaseUrl, pool, replica)),
    Layer.provide(Logger.minimumLogLevel(logLevel)),
  )

export const engineLayer = (databaseUrl: string, config: AuthsomeConfig) => engineOn("postgres", databaseUrl, config)

export const listen = (handler: (req: any, res: any) => void, port = 0) =>
  new Promise<{ server: Server; origin: string }>((resolve) => {
    const server = createServer(handler)
    server.on("clientError", answerClientError)
    server.listen(port, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      resolve({ server, origin: `http://127.0.0.1:${port}` })
    })
  })

export interface StartOptions {
  readonly config?: AuthsomeConfig
  /** Reuse a database (a second instance on the same data). */
  readonly databaseUrl?: string
  /** Reuse an SMTP server. */
  readonly smtp?: TestSmtp
  /** Listen on this port (default: any free one). */
  readonly port?: number
  /** Tests that cause failures on purpose (the database taken away) keep the logged errors out of the output. */
  readonly quiet?: boolean
  /** Configure no root secret (the library's default: an ephemeral one). */
  readonly withoutSecret?: boolean
  /** Pool options of the PostgreSQL backend (`poolMode: "transaction"` behind PgBouncer). */
  readonly pool?: Pg.PoolOptions
  /** A read replica of `databaseUrl` (`Pg.replicaLayer`). */
  readonly replica?: TestReplica
}

/** Starts an engine + server. Rate limits are off unless the test's config turns them on. */
export const startServer = async (options: StartOptions = {}): Promise<TestServer> => {
  const backend = options.databaseUrl ? (currentBackend === "pgbouncer" ? "pgbouncer" : "postgres") : currentBackend
  const onPostgres = backend === "postgres" || backend === "pgbouncer"
  const database = options.databaseUrl || !onPostgres ? undefined : await createDatabase("http")
  const databaseUrl = options.databaseUrl ?? database?.url
  const pooled = backend === "pgbouncer" ? await useBouncer() : undefined
  const smtp = options.smtp ?? (await TestSmtp.create())
  const config: AuthsomeConfig = {
    rateLimit: { enabled: false },
    // Instances on one database share the root secret (codes, counters' keys), as a deployment's must.
    ...(options.withoutSecret ? {} : { secret: testSecret }),
    ...options.config,
    mail: { smtpUrl: Redacted.make(smtp.url), dispatcher: fastMail, ...options.config?.mail },
  }
  const handlers = await makeHandlers(
    pooled
      ? engineOn(
          "postgres",
          pooled.pooler.urlFor(databaseUrl!),
          config,
          options.quiet ? LogLevel.None : LogLevel.Warning,
          {
            poolMode: "transaction",
            ...options.pool,
          },
        )
      : engineOn(
          backend,
          databaseUrl,
          config,
          options.quiet ? LogLevel.None : LogLevel.Warning,
          options.pool,
          options.replica,
        ),
  )
  const { server, origin } = await listen(handlers.node, options.port)
  return {
    origin,
    base: `${origin}${handlers.authsome.config.basePath}`,
    handlers,
    backend,
    get databaseUrl() {
      if (databaseUrl === undefined) throw new Error(`no database URL on the ${backend} backend`)
      return databaseUrl
    },
    sql:
      backend === "memory"
        ? undefined
        : (text, values = []) =>
            handlers.run(
              Effect.flatMap(StoreBackend, (store) =>
                store.kind === "sql" ? store.sql.unsafe<any>(text, values) : Effect.dieMessage("not an SQL store"),
              ),
            ),
    smtp,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await handlers.dispose()
      if (!options.smtp) await smtp.stop()
      await pooled?.release()
      await database?.drop()
    },
  }
}

export interface ApiResponse {
  readonly status: number
  readonly headers: Headers
  readonly body: any
  readonly cookies: Record<string, string>
  readonly setCookies: ReadonlyArray<string>
}

export interface RequestOptions {
  readonly body?: unknown
  readonly rawBody?: string
  readonly token?: string
  readonly headers?: Record<string, string>
  /** Send the jar's cookies (default true). */
  readonly cookies?: boolean
}

/** A client of one server; keeps the cookies the server sets, like a browser would for its paths. */
export class Client {
  readonly jar = new Map<string, string>()

  constructor(readonly base: string) {}

  async request(method: string, path: string, options: RequestOptions = {}): Promise<ApiResponse> {
    const headers: Record<string, string> = { ...options.headers }
    if (options.body !== undefined) headers["content-type"] ??= "application/json"
    if (options.token) headers["authorization"] = `Bearer ${options.token}`
    if (options.cookies !== false && this.jar.size > 0) {
      headers["cookie"] = [...this.jar].map(([k, v]) => `${k}=${v}`).join("; ")
    }
    const send = () =>
      fetch(`${this.base}${path}`, {
        method,
        headers,
        body: options.rawBody ?? (options.body === undefined ? null : JSON.stringify(options.body)),
      })
    // A test that blocks its event loop past the server's keep-alive timeout (a long synchronous compile) can send on
    // a socket the server has just closed: a safe method is sent again on a new one, as browsers do.
    const response = await send().catch((error: unknown) => {
      if (method === "GET" || method === "HEAD") return send()
      throw error
    })
    const setCookies = response.headers.getSetCookie()
    const cookies: Record<string, string> = {}
    for (const line of setCookies) {
      const [pair] = line.split(";")
      const [name, ...rest] = pair!.split("=")
      const value = rest.join("=")
      cookies[name!.trim()] = value
      if (/max-age=0/i.test(line)) this.jar.delete(name!.trim())
      else this.jar.set(name!.trim(), value)
    }
    const text = await response.text()
    let body: unknown = text
    try {
      body = text === "" ? undefined : JSON.parse(text)
    } catch {}
    return { status: response.status, headers: response.headers, body, cookies, setCookies }
  }

  get = (path: string, options?: RequestOptions) => this.request("GET", path, options)
  post = (path: string, body?: unknown, options?: RequestOptions) =>
    this.request("POST", path, { ...options, ...(body === undefined ? {} : { body }) })
  patch = (path: string, body?: unknown, options?: RequestOptions) =>
    this.request("PATCH", path, { ...options, ...(body === undefined ? {} : { body }) })
  delete = (path: string, options?: RequestOptions) => this.request("DELETE", path, options)
}

let counter = 0
/** A unique email for this test run. */
export const uniqueEmail = (label = "user") => `${label}.${process.pid}.${Date.now()}.${counter++}@example.com`

export const strongPassword = "correct horse battery staple"

/** Signs up (verification off) or signs up + verifies through the mailed code; returns the signed-in tokens. */
export const signUpAndSignIn = async (server: TestServer, client: Client, email = uniqueEmail()) => {
  const signup = await client.post("/signup", { email, password: strongPassword })
  if (signup.body?.session_token) return { email, ...signup.body }
  const signin = await client.post("/signin", { email, password: strongPassword })
  if (signin.status === 200) return { email, ...signin.body }
  const mail = await server.smtp.waitFor(email, /verif/i)
  const code = /\b(\d{6})\b/.exec(mail.text)?.[1]
  const verified = await client.post("/verify-email", { email, code })
  if (verified.status !== 200) throw new Error(`verification failed: ${JSON.stringify(verified.body)}`)
  return { email, ...verified.body }
}
