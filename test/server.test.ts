/**
 * The standalone server and the `authsome` CLI, black-box: the built program (`node bin/authsome.js ...`) runs as a
 * child process with an explicit environment, on a real PostgreSQL database or on the embedded one (PGlite).
 * Covers library.md §4 (the `migrate` command) and §5 (serve: env vars, embedded data kept across restarts, port
 * opened only after migrations, graceful shutdown, one-line configuration errors, JSON request logs without secrets).
 */
import { type ChildProcess, spawn } from "node:child_process"
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs"
import { connect, createServer, type Socket } from "node:net"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { PGlite } from "@electric-sql/pglite"
import { ConfigProvider, Duration, Effect, Either } from "effect"
import pg from "pg"
import { afterAll, describe, expect, it, type TestContext } from "vitest"
import { coreMigrations } from "../src/migrations/core.js"
import { builtInPlugins } from "../src/server/plugins.js"
import { InvalidSetting, readServerSettings } from "../src/server/settings.js"
import { variables } from "../src/server/variables.js"
import { adminUrl, createDatabase } from "./support/postgres.js"
import { tablesOf as tablesAfter } from "./support/schema.js"

const root = join(import.meta.dirname, "..")
const bin = join(root, "bin", "authsome.js")
const basePath = "/v1/auth"
const password = "correct horse battery staple"

/** What the program migrates: the core and the plugins it mounts by default. */
const servedGroups = [
  coreMigrations,
  ...builtInPlugins.flatMap((plugin) => {
    const migrations = plugin.make({}).migrations
    return migrations ? [migrations] : []
  }),
]
const expectedGroups = servedGroups.map((group) => group.name)
const expectedTables = tablesAfter(servedGroups.slice(1))
const allMigrations = servedGroups.flatMap((group) =>
  group.migrations.map((m) => ({ group: group.name, version: m.version, name: m.name })),
)

// ---------------------------------------------------------------------------------------------------------------
// The built program (`dist/authsome.cjs`) is made fresh by the global setup (test/build-setup.ts).

// ---------------------------------------------------------------------------------------------------------------
// Child processes

interface Proc {
  readonly child: ChildProcess
  readonly startedAt: number
  stdout: string
  stderr: string
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>
}

/** Every child still running; each test kills its own when it ends, pass or fail, and afterAll any left. */
const children = new Set<ChildProcess>()
type Owner = Set<ChildProcess>

const kill = (child: ChildProcess) => {
  if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
}

/** The processes of one test, killed when it finishes, passed or failed. */
const owner = (context: TestContext): Owner => {
  const own: Owner = new Set()
  context.onTestFinished(() => {
    for (const child of own) kill(child)
  })
  return own
}

const tempDirs: Array<string> = []

const tempDir = (label: string) => {
  const dir = mkdtempSync(join(tmpdir(), `authsome-${label}-`))
  tempDirs.push(dir)
  return dir
}

/** Runs `node bin/authsome.js ...args` with exactly `env` (plus PATH), in a scratch directory. */
const launch = (own: Owner, args: ReadonlyArray<string>, env: Record<string, string>): Proc => {
  const child = spawn(process.execPath, [bin, ...args], {
    cwd: tempDir("cwd"),
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  })
  children.add(child)
  own.add(child)
  const proc: Proc = {
    child,
    startedAt: Date.now(),
    stdout: "",
    stderr: "",
    exited: new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        children.delete(child)
        resolve({ code, signal, at: Date.now() })
      })
    }),
  }
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
    proc.stdout += chunk
  })
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
    proc.stderr += chunk
  })
  return proc
}

const withTimeout = <A>(promise: Promise<A>, ms: number, what: string) =>
  new Promise<A>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms)
    promise.then(
      (a) => {
        clearTimeout(timer)
        resolve(a)
      },
      (e) => {
        clearTimeout(timer)
        reject(e)
      },
    )
  })

/** Runs a command to its end; stdout/stderr complete (the exit event can precede the last chunks). */
const run = async (own: Owner, args: ReadonlyArray<string>, env: Record<string, string>, timeoutMs = 30_000) => {
  const proc = launch(own, args, env)
  const closed = new Promise<void>((resolve) => proc.child.once("close", () => resolve()))
  const exit = await withTimeout(proc.exited, timeoutMs, `authsome ${args.join(" ")}`)
  await closed
  return { ...exit, stdout: proc.stdout, stderr: proc.stderr, ms: exit.at - proc.startedAt }
}

/** `f` over `items`, two at a time (the machine may have only two cores), results in order. */
const mapInPairs = async <A, B>(items: ReadonlyArray<A>, f: (a: A) => Promise<B>): Promise<Array<B>> => {
  const results: Array<B> = []
  for (let i = 0; i < items.length; i += 2) results.push(...(await Promise.all(items.slice(i, i + 2).map(f))))
  return results
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address ? address.port : 0
      server.close(() => resolve(port))
    })
  })

interface Served extends Proc {
  readonly port: number
  readonly base: string
}

/** A root secret for the servers on PostgreSQL, which need one (the embedded database generates its own). */
const sharedSecret = "a test root secret, shared by every instance"

const serverEnv = (port: number, extra: Record<string, string>) => ({
  PORT: String(port),
  HOST: "127.0.0.1",
  AUTHSOME_REQUIRE_EMAIL_VERIFICATION: "false",
  AUTHSOME_RATE_LIMIT: "off",
  ...(extra["DATABASE_URL"] === undefined ? {} : { AUTHSOME_SECRET: sharedSecret }),
  ...extra,
})

/** Starts `serve` and waits until `/health` answers 200. */
const serve = async (own: Owner, extra: Record<string, string>, timeoutMs = 45_000): Promise<Served> => {
  const port = await freePort()
  const proc = launch(own, ["serve"], serverEnv(port, extra))
  const base = `http://127.0.0.1:${port}${basePath}`
  const deadline = Date.now() + timeoutMs
  let exited = false
  void proc.exited.then(() => {
    exited = true
  })
  while (Date.now() < deadline) {
    if (exited) throw new Error(`serve exited before becoming healthy:\n${proc.stdout}\n${proc.stderr}`)
    const status = await fetch(`${base}/health`, { signal: AbortSignal.timeout(2_000) }).then(
      (r) => r.status,
      () => 0,
    )
    if (status === 200) return Object.assign(proc, { port, base })
    await sleep(100)
  }
  throw new Error(`serve not healthy within ${timeoutMs} ms:\n${proc.stdout}\n${proc.stderr}`)
}

/** SIGTERM, then the exit (code and how long it took). */
const terminate = async (proc: Proc, withinMs = 10_000) => {
  const sent = Date.now()
  proc.child.kill("SIGTERM")
  const exit = await withTimeout(proc.exited, withinMs + 2_000, "exit after SIGTERM")
  return { ...exit, ms: exit.at - sent }
}

afterAll(() => {
  for (const child of children) kill(child)
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true })
})

// ---------------------------------------------------------------------------------------------------------------
// HTTP

interface Reply {
  readonly status: number
  readonly body: any
}

const call = async (
  base: string,
  method: string,
  path: string,
  options: { body?: unknown; token?: string } = {},
): Promise<Reply> => {
  const headers: Record<string, string> = {}
  if (options.body !== undefined) headers["content-type"] = "application/json"
  if (options.token !== undefined) headers["authorization"] = `Bearer ${options.token}`
  const response = await fetch(`${base}${path}`, {
    method,
    headers,
    body: options.body === undefined ? null : JSON.stringify(options.body),
    signal: AbortSignal.timeout(15_000),
  })
  const text = await response.text()
  let body: unknown = text
  try {
    body = text === "" ? undefined : JSON.parse(text)
  } catch {}
  return { status: response.status, body }
}

/** Outcome of one TCP connection attempt: refused, or accepted and then (maybe) an HTTP answer. */
type Probe = { readonly kind: "refused" } | { readonly kind: "answered"; readonly status: number }

/**
 * Opens a connection; if accepted, runs `onAccepted` (while the connection is open) then sends `GET /health` and
 * waits for the status line. Anything but a refusal or an answer (reset, hang) rejects.
 */
const probe = (port: number, onAccepted: () => Promise<void> = async () => {}) =>
  new Promise<Probe>((resolve, reject) => {
    const socket = connect(port, "127.0.0.1")
    let accepted = false
    let data = ""
    socket.once("error", (error: NodeJS.ErrnoException) => {
      socket.destroy()
      if (!accepted && error.code === "ECONNREFUSED") resolve({ kind: "refused" })
      else reject(new Error(`connection ${accepted ? "accepted, then" : ""} failed: ${error.code ?? error.message}`))
    })
    socket.once("connect", () => {
      accepted = true
      socket.setTimeout(5_000, () => {
        socket.destroy()
        reject(new Error("connection accepted but no answer within 5 s"))
      })
      onAccepted().then(
        () => socket.write(`GET ${basePath}/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`),
        (error) => {
          socket.destroy()
          reject(error)
        },
      )
    })
    socket.setEncoding("utf8")
    socket.on("data", (chunk: string) => {
      data += chunk
    })
    socket.once("end", () => {
      socket.destroy()
      const status = /^HTTP\/1\.1 (\d{3})/.exec(data)?.[1]
      if (status) resolve({ kind: "answered", status: Number(status) })
      else reject(new Error(`connection accepted, then closed without an HTTP answer: ${JSON.stringify(data)}`))
    })
  })

const isRefused = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket: Socket = connect(port, "127.0.0.1")
    socket.once("error", (error: NodeJS.ErrnoException) => resolve(error.code === "ECONNREFUSED"))
    socket.once("connect", () => {
      socket.destroy()
      resolve(false)
    })
  })

const pgQuery = async <R extends pg.QueryResultRow>(url: string, text: string, values: Array<unknown> = []) => {
  const client = new pg.Client({ connectionString: url, application_name: "authsome-test" })
  await client.connect()
  try {
    return (await client.query<R>(text, values)).rows
  } finally {
    await client.end()
  }
}

const authsomeConnections = async (databaseUrl: string) => {
  const database = new URL(databaseUrl).pathname.slice(1)
  const rows = await pgQuery<{ n: number }>(
    databaseUrl,
    "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND application_name = 'authsome'",
    [database],
  )
  return rows[0]!.n
}

const tablesOf = (rows: ReadonlyArray<{ table_name: string }>) =>
  rows
    .map((r) => r.table_name)
    .filter((t) => t.startsWith("authsome_"))
    .sort()

const tablesSql = "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"

// ---------------------------------------------------------------------------------------------------------------

describe("readServerSettings (environment variables)", () => {
  const withEnv = (env: Record<string, string>) =>
    Effect.runSync(
      Effect.either(readServerSettings).pipe(
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)))),
      ),
    )
  const read = (env: Record<string, string>) => Either.getOrThrow(withEnv(env))
  const failure = (env: Record<string, string>) => Either.flip(withEnv(env)).pipe(Either.getOrUndefined)

  it("defaults: PORT 8080, HOST 0.0.0.0, embedded data dir, rate limit, lockout and verification on", () => {
    const settings = read({})
    expect(settings.port).toBe(8080)
    expect(settings.host).toBe("0.0.0.0")
    expect(settings.databaseUrl).toBeUndefined()
    expect(settings.dataDir).toBe("./.authsome/data")
    expect(settings.engine.rateLimit.enabled).toBe(true)
    expect(settings.engine.lockout.enabled).toBe(true)
    expect(settings.engine.emailVerification.required).toBe(true)
  })

  it.each([
    ["3600", Duration.hours(1)],
    ["1 hour", Duration.hours(1)],
    ["30 days", Duration.days(30)],
    ["90 minutes", Duration.minutes(90)],
    ["15m", Duration.minutes(15)],
  ])("duration %j", (raw, expected) => {
    const settings = read({ AUTHSOME_TOKEN_TTL: raw, AUTHSOME_REFRESH_TOKEN_TTL: raw })
    expect(Duration.toMillis(settings.engine.session.tokenTtl)).toBe(Duration.toMillis(expected))
    expect(Duration.toMillis(settings.engine.session.refreshTokenTtl)).toBe(Duration.toMillis(expected))
  })

  it.each(["soon", "1 fortnight", "-5", "1 hour ago", "0", "0 seconds"])(
    "bad duration %j names the variable",
    (raw) => {
      const error = failure({ AUTHSOME_REFRESH_TOKEN_TTL: raw })
      expect(error).toBeInstanceOf(InvalidSetting)
      expect((error as Error).message).toMatch(/^invalid AUTHSOME_REFRESH_TOKEN_TTL: /)
    },
  )

  it.each([
    ["true", true],
    ["false", false],
    ["on", true],
    ["off", false],
    ["1", true],
    ["0", false],
    ["ON", true],
    [" False ", false],
  ])("boolean %j", (raw, expected) => {
    const settings = read({
      AUTHSOME_RATE_LIMIT: raw,
      AUTHSOME_LOCKOUT: raw,
      AUTHSOME_REQUIRE_EMAIL_VERIFICATION: raw,
    })
    expect(settings.engine.rateLimit.enabled).toBe(expected)
    expect(settings.engine.lockout.enabled).toBe(expected)
    expect(settings.engine.emailVerification.required).toBe(expected)
  })

  it.each([
    ["PORT", "abc"],
    ["PORT", "70000"],
    ["AUTHSOME_TOKEN_TTL", "soon"],
    ["AUTHSOME_RATE_LIMIT", "maybe"],
    ["AUTHSOME_LOCKOUT", "2"],
    ["AUTHSOME_REQUIRE_EMAIL_VERIFICATION", "yes please"],
    ["DATABASE_URL", "mysql://x"],
    ["AUTHSOME_PUBLIC_URL", "not a url"],
    ["AUTHSOME_PUBLIC_URL", "ftp://example.com"],
    ["AUTHSOME_TRUSTED_ORIGINS", "https://ok.example.com, nope"],
    ["AUTHSOME_TRUSTED_PROXIES", "10.0.0.0/99"],
    ["AUTHSOME_SMTP_URL", "http://mail"],
    ["AUTHSOME_DB_MAX_CONNECTIONS", "0"],
    ["AUTHSOME_DB_POOL_MODE", "statement"],
    ["AUTHSOME_DATABASE_REPLICA_URL", "mysql://replica"],
    ["AUTHSOME_LOG_FORMAT", "xml"],
    ["AUTHSOME_LOG_LEVEL", "loud"],
    ["AUTHSOME_CONFIG", "/nonexistent/authsome.json"],
  ])("%s=%j is rejected with one line naming it", (name, raw) => {
    const error = failure({ [name]: raw })
    expect(error).toBeInstanceOf(InvalidSetting)
    const message = (error as Error).message
    expect(message.startsWith(`invalid ${name}: `)).toBe(true)
    expect(message).not.toContain("\n")
  })

  it("reads the rest: port, host, database URL (redacted), public URL, origins, proxies", () => {
    const settings = read({
      PORT: "9090",
      HOST: "127.0.0.1",
      DATABASE_URL: "postgres://u:secret@db:5432/app?sslmode=disable",
      AUTHSOME_PUBLIC_URL: "https://auth.example.com/",
      AUTHSOME_TRUSTED_ORIGINS: "https://app.example.com/, http://localhost:3000",
      AUTHSOME_TRUSTED_PROXIES: "10.0.0.0/8, ::1",
      AUTHSOME_BASE_PATH: "/auth",
      AUTHSOME_APP_ID: "myapp",
    })
    expect(settings.port).toBe(9090)
    expect(settings.host).toBe("127.0.0.1")
    expect(String(settings.databaseUrl)).not.toContain("secret")
    expect(settings.engine.publicUrl).toBe("https://auth.example.com")
    expect(settings.engine.trustedOrigins).toEqual(["https://app.example.com", "http://localhost:3000"])
    expect(settings.engine.trustedProxies).toEqual(["10.0.0.0/8", "::1"])
    expect(settings.engine.basePath).toBe("/auth")
    expect(settings.engine.appId).toBe("myapp")
  })

  it("reads the pooler mode and the read replica (redacted); a replica without DATABASE_URL is refused", () => {
    const defaults = read({ DATABASE_URL: "postgres://u@db:5432/app" })
    expect(defaults.poolMode).toBe("session")
    expect(defaults.replicaUrl).toBeUndefined()
    const settings = read({
      DATABASE_URL: "postgres://u@pgbouncer:6432/app",
      AUTHSOME_DB_POOL_MODE: "Transaction",
      AUTHSOME_DATABASE_REPLICA_URL: "postgres://u:secret@replica:5432/app",
    })
    expect(settings.poolMode).toBe("transaction")
    expect(String(settings.replicaUrl)).not.toContain("secret")
    const orphan = failure({ AUTHSOME_DATABASE_REPLICA_URL: "postgres://u@replica:5432/app" })
    expect((orphan as Error).message).toBe(
      "invalid AUTHSOME_DATABASE_REPLICA_URL: a read replica needs DATABASE_URL (its primary)",
    )
  })
})

describe("readServerSettings (plugins and their AUTHSOME_CONFIG sections)", () => {
  const withEnv = (env: Record<string, string>) =>
    Effect.runSync(
      Effect.either(readServerSettings).pipe(
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)))),
      ),
    )
  const configFile = (content: unknown) => {
    const path = join(tempDir("config"), "authsome.json")
    writeFileSync(path, JSON.stringify(content))
    return path
  }

  it("mounts every built-in plugin by default, or those AUTHSOME_PLUGINS names", () => {
    const all = Either.getOrThrow(withEnv({})).plugins.map((plugin) => plugin.name)
    expect(all).toEqual(builtInPlugins.map((plugin) => plugin.name))
    expect(all).toEqual(expect.arrayContaining(["password", "mfa", "passkey"]))
    const some = Either.getOrThrow(withEnv({ AUTHSOME_PLUGINS: "password, passkey" }))
    expect(some.plugins.map((plugin) => plugin.name)).toEqual(["password", "passkey"])
  })

  it("accepts the mfa and passkey sections of library.md §6", () => {
    const settings = withEnv({
      AUTHSOME_CONFIG: configFile({
        mfa: { issuer: "Acme", required: ["default"] },
        passkey: { rpId: "localhost", rpName: "Acme", origins: ["http://localhost:8080"] },
      }),
    })
    expect(Either.isRight(settings)).toBe(true)
  })

  it.each([
    [{ mfa: { issuer: "a:b" } }, "mfa.issuer"],
    [{ mfa: { isuer: "Acme" } }, "mfa.isuer: unknown setting"],
    [{ mfa: { required: "yes" } }, "mfa.required"],
    [{ passkey: { origins: ["nope"] } }, "passkey.origins.0"],
    [{ passkey: { rpId: "https://example.com" } }, "passkey.rpId"],
    [{ passkey: { userVerification: "always" } }, "passkey.userVerification"],
  ])("%j is one line naming the setting", (content, named) => {
    const error = Either.flip(withEnv({ AUTHSOME_CONFIG: configFile(content) })).pipe(Either.getOrUndefined)
    expect(error).toBeInstanceOf(InvalidSetting)
    const message = (error as Error).message
    expect(message.startsWith(`invalid AUTHSOME_CONFIG: ${named}`), message).toBe(true)
    expect(message).not.toContain("\n")
  })
})

// One program at a time (they are CPU-bound at start-up); each test has its own database, data directory and port.
describe("the built program", () => {
  const badConfiguration: ReadonlyArray<readonly [string, string, string]> = [
    ["serve", "PORT", "abc"],
    ["serve", "AUTHSOME_TOKEN_TTL", "soon"],
    ["serve", "AUTHSOME_RATE_LIMIT", "maybe"],
    ["serve", "DATABASE_URL", "mysql://x"],
    ["serve", "AUTHSOME_PUBLIC_URL", "not a url"],
    ["serve", "AUTHSOME_SECRET", "shorter than thirty-two chars"],
    ["migrate", "DATABASE_URL", "mysql://x"],
  ]

  it("migrate (PostgreSQL): applies every migration, then nothing; --status: all applied", async (context) => {
    const own = owner(context)
    const db = await createDatabase("cli")
    try {
      const first = await run(own, ["migrate"], { DATABASE_URL: db.url })
      expect(first.code, first.stderr).toBe(0)
      const appliedLines = first.stdout.split("\n").filter((line) => line.startsWith("applied "))
      expect(appliedLines).toEqual(allMigrations.map((m) => `applied ${m.group} ${m.version} ${m.name}`))

      const tables = tablesOf(await pgQuery<{ table_name: string }>(db.url, tablesSql))
      expect(tables).toEqual(expectedTables)
      const rows = await pgQuery<{ group: string; version: number; name: string }>(
        db.url,
        `SELECT "group", version, name FROM authsome_migrations ORDER BY "group", version`,
      )
      expect(rows.map((r) => `${r.group} ${r.version} ${r.name}`).sort()).toEqual(
        allMigrations.map((m) => `${m.group} ${m.version} ${m.name}`).sort(),
      )

      const second = await run(own, ["migrate"], { DATABASE_URL: db.url })
      expect(second.code, second.stderr).toBe(0)
      expect(second.stdout).toMatch(/nothing to apply/)
      expect(second.stdout).not.toMatch(/^applied /m)

      const status = await run(own, ["migrate", "--status"], { DATABASE_URL: db.url })
      expect(status.code, status.stderr).toBe(0)
      // First the database it read (never its password), then one line per migration.
      const [database, ...statusLines] = status.stdout.split("\n").filter((line) => line.trim() !== "")
      expect(database).toBe(
        `database: PostgreSQL at ${new URL(db.url).hostname}:${new URL(db.url).port}${new URL(db.url).pathname}`,
      )
      expect(statusLines).toHaveLength(allMigrations.length)
      for (const m of allMigrations) {
        const line = statusLines.find((l) => new RegExp(`^${m.group}\\s+${m.version}\\s+${m.name}\\s`).test(l))
        expect(line, `${m.group} ${m.version}`).toBeDefined()
        expect(line).toMatch(/\sapplied \d{4}-\d\d-\d\dT/)
      }
      expect(new Set(statusLines.map((l) => l.split(/\s+/)[0]))).toEqual(new Set(expectedGroups))
    } finally {
      await db.drop()
    }
  }, 60_000)

  it("migrate --status on an empty database: all pending, nothing created", async (context) => {
    const own = owner(context)
    const db = await createDatabase("cli")
    try {
      const status = await run(own, ["migrate", "--status"], { DATABASE_URL: db.url })
      expect(status.code, status.stderr).toBe(0)
      // First the database it read (never its password), then one line per migration.
      const [database, ...statusLines] = status.stdout.split("\n").filter((line) => line.trim() !== "")
      expect(database).toBe(
        `database: PostgreSQL at ${new URL(db.url).hostname}:${new URL(db.url).port}${new URL(db.url).pathname}`,
      )
      expect(statusLines).toHaveLength(allMigrations.length)
      for (const m of allMigrations) {
        const line = statusLines.find((l) => new RegExp(`^${m.group}\\s+${m.version}\\s+${m.name}\\s`).test(l))
        expect(line, `${m.group} ${m.version}`).toMatch(/\spending$/)
      }
      expect(new Set(statusLines.map((l) => l.split(/\s+/)[0]))).toEqual(new Set(expectedGroups))
      expect(tablesOf(await pgQuery<{ table_name: string }>(db.url, tablesSql))).toEqual([])
    } finally {
      await db.drop()
    }
  }, 30_000)

  it("migrate (embedded database): creates the full schema in AUTHSOME_DATA_DIR", async (context) => {
    const own = owner(context)
    const dataDir = join(tempDir("migrate"), "data")
    const result = await run(own, ["migrate"], { AUTHSOME_DATA_DIR: dataDir }, 60_000)
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout.split("\n").filter((line) => line.startsWith("applied "))).toEqual(
      allMigrations.map((m) => `applied ${m.group} ${m.version} ${m.name}`),
    )
    const db = new PGlite(dataDir)
    try {
      expect(tablesOf((await db.query<{ table_name: string }>(tablesSql)).rows)).toEqual(expectedTables)
      const count = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM authsome_migrations")
      expect(count.rows[0]!.n).toBe(allMigrations.length)
    } finally {
      await db.close()
    }
  }, 60_000)

  it("serve (embedded database): the API, SIGTERM → exit code 0, data kept across a restart", async (context) => {
    const own = owner(context)
    const dataDir = join(tempDir("serve"), "data")
    const env = { AUTHSOME_DATA_DIR: dataDir }
    const server = await serve(own, env, 60_000)
    const { base } = server

    expect(await call(base, "GET", "/health")).toEqual({ status: 200, body: { status: "healthy" } })

    const signup = await call(base, "POST", "/signup", {
      body: { email: "  Embedded.User@Example.com ", password },
    })
    expect(signup.status, JSON.stringify(signup.body)).toBe(201)
    expect(signup.body.user.email).toBe("embedded.user@example.com")
    expect(typeof signup.body.session_token).toBe("string")
    expect(typeof signup.body.refresh_token).toBe("string")
    const userId: string = signup.body.user.id
    expect(userId).toMatch(/^ausr_/)

    const duplicate = await call(base, "POST", "/signup", { body: { email: "embedded.user@example.com", password } })
    expect(duplicate.status).toBe(409)
    expect(duplicate.body.type).toBe("email_taken")

    const wrong = await call(base, "POST", "/signin", {
      body: { email: "embedded.user@example.com", password: "not the password at all" },
    })
    expect(wrong.status).toBe(401)
    expect(wrong.body.type).toBe("invalid_credentials")

    const signin = await call(base, "POST", "/signin", { body: { email: "embedded.user@example.com", password } })
    expect(signin.status, JSON.stringify(signin.body)).toBe(200)
    expect(signin.body.user.id).toBe(userId)
    for (const field of ["session_token", "refresh_token", "expires_at", "refresh_token_expires_at"]) {
      expect(signin.body[field], field).toEqual(expect.any(String))
    }

    const session = await call(base, "GET", "/session", { token: signin.body.session_token })
    expect(session.status).toBe(200)
    expect(session.body.user.id).toBe(userId)
    expect(session.body.session.user_id).toBe(userId)

    const refreshed = await call(base, "POST", "/refresh", { body: { refresh_token: signin.body.refresh_token } })
    expect(refreshed.status, JSON.stringify(refreshed.body)).toBe(200)
    expect(refreshed.body.session_token).not.toBe(signin.body.session_token)
    expect(refreshed.body.refresh_token).not.toBe(signin.body.refresh_token)
    expect((await call(base, "GET", "/session", { token: signin.body.session_token })).status).toBe(401)
    expect((await call(base, "GET", "/session", { token: refreshed.body.session_token })).status).toBe(200)
    // Reusing a rotated refresh token (not the last one: that has a short grace) revokes the whole family.
    const twice = await call(base, "POST", "/refresh", { body: { refresh_token: refreshed.body.refresh_token } })
    expect(twice.status).toBe(200)
    const reused = await call(base, "POST", "/refresh", { body: { refresh_token: signin.body.refresh_token } })
    expect(reused.status).toBe(401)
    expect(reused.body.type).toBe("invalid_credentials")
    expect((await call(base, "GET", "/session", { token: twice.body.session_token })).status).toBe(401)

    // Sign-out (the sign-up session, another family).
    const signout = await call(base, "POST", "/signout", { token: signup.body.session_token })
    expect(signout).toEqual({ status: 200, body: { status: "signed out" } })
    expect((await call(base, "GET", "/session", { token: signup.body.session_token })).status).toBe(401)

    const stopped = await terminate(server)
    expect(stopped.code, server.stderr).toBe(0)
    expect(stopped.ms).toBeLessThan(10_000)

    // Same data directory: the user is still there.
    const again = await serve(own, env, 45_000)
    const back = await call(again.base, "POST", "/signin", { body: { email: "embedded.user@example.com", password } })
    expect(back.status, JSON.stringify(back.body)).toBe(200)
    expect(back.body.user.id).toBe(userId)
    const publishableKey = (out: string) => /publishable_key[=":]+(pk_[A-Za-z0-9_]+)/.exec(out)?.[1]
    expect(publishableKey(again.stdout + again.stderr)).toBeDefined()
    expect(publishableKey(again.stdout + again.stderr)).toBe(publishableKey(server.stdout + server.stderr))
    const stoppedAgain = await terminate(again)
    expect(stoppedAgain.code, again.stderr).toBe(0)
  }, 90_000)

  it("serve (PostgreSQL): MFA and passkeys configured from AUTHSOME_CONFIG, the relying party from the public URL", async (context) => {
    const own = owner(context)
    const db = await createDatabase("srv")
    try {
      const config = join(tempDir("config"), "authsome.json")
      writeFileSync(config, JSON.stringify({ mfa: { issuer: "Acme Auth" }, passkey: { rpName: "Acme" } }))
      const server = await serve(own, {
        DATABASE_URL: db.url,
        AUTHSOME_CONFIG: config,
        AUTHSOME_PUBLIC_URL: "https://login.acme.test",
        AUTHSOME_SECRET: "a-secret-of-at-least-32-characters-for-tests",
      })
      const clientConfig = await call(server.base, "GET", "/client-config")
      expect(clientConfig.body.mfa).toEqual({ enabled: true, methods: ["totp", "recovery_code"] })
      expect(clientConfig.body.passkey).toEqual({ enabled: true })
      const signup = await call(server.base, "POST", "/signup", { body: { email: "mfa.user@example.com", password } })
      const token: string = signup.body.session_token
      const enrollment = await call(server.base, "POST", "/mfa/enroll", { body: {}, token })
      expect(enrollment.body.otpauth_url).toContain("issuer=Acme%20Auth")
      const begin = await call(server.base, "POST", "/passkeys/register/begin", { token })
      expect(begin.body.options.rp).toEqual({ name: "Acme", id: "login.acme.test" })
      expect((await terminate(server)).code, server.stderr).toBe(0)

      // Origins outside the relying party stop the start with one line.
      writeFileSync(config, JSON.stringify({ passkey: { origins: ["https://elsewhere.test"] } }))
      const refused = await run(own, ["serve"], {
        ...serverEnv(await freePort(), { DATABASE_URL: db.url, AUTHSOME_CONFIG: config }),
        AUTHSOME_PUBLIC_URL: "https://login.acme.test",
        AUTHSOME_SECRET: "a-secret-of-at-least-32-characters-for-tests",
      })
      expect(refused.code).not.toBe(0)
      const lines = refused.stderr.split("\n").filter((line) => line.trim() !== "")
      expect(lines, refused.stderr).toHaveLength(1)
      expect(lines[0]).toContain("passkey.origins")
    } finally {
      await db.drop()
    }
  }, 90_000)

  it("serve (PostgreSQL): the port opens only after the migrations", async (context) => {
    const own = owner(context)
    const db = await createDatabase("srv")
    try {
      const port = await freePort()
      const proc = launch(own, ["serve"], serverEnv(port, { DATABASE_URL: db.url }))
      let refused = 0
      let appliedWhenAccepted: Array<string> = []
      const deadline = Date.now() + 45_000
      for (;;) {
        expect(Date.now(), `never opened:\n${proc.stdout}\n${proc.stderr}`).toBeLessThan(deadline)
        expect(proc.child.exitCode, `exited:\n${proc.stdout}\n${proc.stderr}`).toBeNull()
        const result = await probe(port, async () => {
          const rows = await pgQuery<{ group: string; version: number }>(
            db.url,
            `SELECT "group", version FROM authsome_migrations`,
          )
          appliedWhenAccepted = rows.map((r) => `${r.group} ${r.version}`).sort()
        })
        if (result.kind === "refused") {
          refused++
          await sleep(5)
          continue
        }
        expect(result.status).toBe(200)
        break
      }
      // We did watch the port before it opened (node's start-up alone takes far longer than one probe).
      expect(refused).toBeGreaterThan(3)
      // The core group and those of every plugin the server mounts by default, complete.
      expect(appliedWhenAccepted).toEqual(allMigrations.map((m) => `${m.group} ${m.version}`).sort())
      const stopped = await terminate(proc)
      expect(stopped.code, proc.stderr).toBe(0)
    } finally {
      await db.drop()
    }
  }, 60_000)

  it("serve (PostgreSQL): graceful shutdown, in-flight requests finish, pool closed", async (context) => {
    const own = owner(context)
    const db = await createDatabase("srv")
    try {
      const server = await serve(own, { DATABASE_URL: db.url })
      const email = "graceful@example.com"
      expect((await call(server.base, "POST", "/signup", { body: { email, password } })).status).toBe(201)
      expect(await authsomeConnections(db.url)).toBeGreaterThan(0)

      // A request held open: on a connection the server has surely taken (it answered a first request on it),
      // the headers and part of the body of a sign-in; the handler waits for the rest.
      const held = connect(server.port, "127.0.0.1")
      let received = ""
      let answeredAt = 0
      held.setEncoding("utf8").on("data", (chunk: string) => {
        received += chunk
        answeredAt = Date.now()
      })
      const heldClosed = new Promise<number>((resolve) => held.once("close", () => resolve(Date.now())))
      held.write(`GET ${basePath}/health HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\n\r\n`)
      for (let i = 0; i < 100 && !received.includes('{"status":"healthy"}'); i++) await sleep(50)
      expect(received).toMatch(/^HTTP\/1\.1 200 /)
      received = ""
      const body = JSON.stringify({ email, password })
      held.write(
        `POST ${basePath}/signin HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nContent-Type: application/json\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, 10)}`,
      )
      await sleep(300)

      const sent = Date.now()
      server.child.kill("SIGTERM")
      let refusedNow = false
      while (!refusedNow && Date.now() - sent < 5_000) {
        refusedNow = await isRefused(server.port)
        if (!refusedNow) await sleep(20)
      }
      expect(refusedNow, "new connections are refused after SIGTERM").toBe(true)
      await sleep(200)
      expect(server.child.exitCode, "still running while a request is in flight").toBeNull()
      expect(received).toBe("")

      // The rest of the body: the sign-in (argon2, database) runs during the shutdown, and completes.
      held.write(body.slice(10))
      const closedAt = await withTimeout(heldClosed, 10_000, "the held request")
      expect(received).toMatch(/^HTTP\/1\.1 200 /)
      expect(received).toContain('"session_token"')
      // Its connection is closed once answered, not left to the keep-alive timeout (5 s) to hold up the exit.
      expect(closedAt - answeredAt).toBeLessThan(2_000)

      const exit = await withTimeout(server.exited, 12_000, "exit after SIGTERM")
      expect(exit.code, server.stderr).toBe(0)
      expect(exit.at - sent).toBeLessThan(10_000)
      expect(await isRefused(server.port)).toBe(true)

      // The pool is closed: no connection of application_name "authsome" is left (backends end asynchronously).
      let left = await authsomeConnections(db.url)
      for (let i = 0; i < 40 && left > 0; i++) {
        await sleep(50)
        left = await authsomeConnections(db.url)
      }
      expect(left).toBe(0)
    } finally {
      await db.drop()
    }
  }, 60_000)

  it("serve (PostgreSQL): JSON request logs, and no secret in any output", async (context) => {
    const own = owner(context)
    const db = await createDatabase("srv")
    const secret = "server-secret-0123456789abcdefghijklmnopqrstuvwxyz"
    try {
      const server = await serve(own, { DATABASE_URL: db.url, AUTHSOME_LOG_FORMAT: "json", AUTHSOME_SECRET: secret })
      const { base } = server
      const email = "logs@example.com"
      const wrongPassword = "wrong horse battery staple"
      const expected: Array<[string, string, number]> = []
      const step = async (
        method: string,
        path: string,
        status: number,
        options: { body?: unknown; token?: string },
      ) => {
        const reply = await call(base, method, path, options)
        expect(reply.status, `${method} ${path}: ${JSON.stringify(reply.body)}`).toBe(status)
        expected.push([method, `${basePath}${path.replace(/\?.*$/, "")}`, status])
        return reply.body
      }
      const signup = await step("POST", "/signup", 201, { body: { email, password } })
      await step("POST", "/signin", 401, { body: { email, password: wrongPassword } })
      const signin = await step("POST", "/signin", 200, { body: { email, password } })
      await step("GET", "/session", 200, { token: signin.session_token })
      const refreshed = await step("POST", "/refresh", 200, { body: { refresh_token: signin.refresh_token } })
      // Presented again at once: within the reuse grace, refused without revoking the family.
      await step("POST", "/refresh", 401, { body: { refresh_token: signin.refresh_token } })
      await step("POST", "/signout", 200, { token: signup.session_token })
      await step("POST", "/signout", 200, { token: refreshed.session_token })
      await step("GET", "/session", 401, { token: refreshed.session_token })

      const stopped = await terminate(server)
      expect(stopped.code, server.stderr).toBe(0)
      await sleep(50) // the last chunks after the exit event

      const lines = server.stdout.split("\n").filter((line) => line.trim() !== "")
      const parsed = lines.map((line) => {
        try {
          return JSON.parse(line) as { message: unknown; annotations?: Record<string, unknown> }
        } catch {
          throw new Error(`not a JSON log line: ${line}`)
        }
      })
      const requests = parsed.filter((entry) => entry.message === "request")
      const described = requests.map((entry) => [
        entry.annotations?.method,
        entry.annotations?.route,
        entry.annotations?.status,
      ])
      // The readiness probe's GET /health (once or more), then exactly one line per request made.
      const health = described.filter(([, route]) => route === `${basePath}/health`)
      expect(health.length).toBeGreaterThanOrEqual(1)
      expect(health).toContainEqual(["GET", `${basePath}/health`, 200])
      expect(described.filter(([, route]) => route !== `${basePath}/health`)).toEqual(expected)
      for (const entry of requests) {
        expect(entry.annotations?.duration_ms).toEqual(expect.any(Number))
        expect(entry.annotations?.duration_ms as number).toBeGreaterThanOrEqual(0)
        // Each line names its request (the id the response echoed), the client and, once authenticated, the user.
        expect(entry.annotations?.request_id).toMatch(/^[0-9a-f-]{36}$/)
        expect(entry.annotations?.ip).toBe("127.0.0.1")
      }
      const sessionCheck = requests.find((entry) => entry.annotations?.route === `${basePath}/session`)
      expect(sessionCheck?.annotations?.user_id).toBe(signin.user.id)

      const output = server.stdout + server.stderr
      const secrets = {
        password,
        wrongPassword,
        secret,
        signupSession: signup.session_token,
        signupRefresh: signup.refresh_token,
        signinSession: signin.session_token,
        signinRefresh: signin.refresh_token,
        refreshedSession: refreshed.session_token,
        refreshedRefresh: refreshed.refresh_token,
      }
      for (const [label, value] of Object.entries(secrets)) {
        expect(typeof value, label).toBe("string")
        expect(output.includes(value as string), `${label} appears in the logs`).toBe(false)
      }
    } finally {
      await db.drop()
    }
  }, 60_000)

  it("bad configuration: exits non-zero quickly, one stderr line naming the variable, no stack trace", async (context) => {
    const own = owner(context)
    const results = await mapInPairs(badConfiguration, async ([command, name, raw]) => {
      const dataDir = join(tempDir("bad"), "data")
      const port = await freePort()
      const result = await run(own, [command], { PORT: String(port), AUTHSOME_DATA_DIR: dataDir, [name]: raw }, 20_000)
      return { command, name, raw, dataDir, ...result }
    })
    for (const r of results) {
      const label = `${r.command} with ${r.name}=${r.raw}`
      expect(r.code, label).not.toBe(0)
      expect(r.code, label).not.toBeNull()
      // It stops as soon as its module is loaded (well under a second on an idle machine; two run at a time here).
      expect(r.ms, label).toBeLessThan(10_000)
      const lines = r.stderr.split("\n").filter((line) => line.trim() !== "")
      expect(lines, `${label}: ${r.stderr}`).toHaveLength(1)
      expect(lines[0]!.startsWith(`authsome: invalid ${r.name}: `), `${label}: ${lines[0]}`).toBe(true)
      expect(r.stderr, label).not.toMatch(/\n\s+at |Error:|EnvError/)
      expect(r.stdout.trim(), label).toBe("")
      // Nothing was started: the embedded database was never created.
      expect(() => statSync(r.dataDir), label).toThrow()
    }
  }, 60_000)
  it("root secret: with DATABASE_URL and no AUTHSOME_SECRET serve refuses in one line; the embedded default generates one, keeps it (0600) and codes survive a restart", async (context) => {
    const own = owner(context)
    const refused = await run(own, ["serve"], {
      PORT: String(await freePort()),
      DATABASE_URL: "postgres://postgres@127.0.0.1:5432/never_connected",
    })
    expect(refused.code).not.toBe(0)
    const lines = refused.stderr.split("\n").filter((line) => line.trim() !== "")
    expect(lines, refused.stderr).toHaveLength(1)
    expect(lines[0]).toMatch(/^authsome: invalid AUTHSOME_SECRET: required with DATABASE_URL; .*openssl rand/)

    const dataDir = join(tempDir("secret"), "data")
    const env = { AUTHSOME_DATA_DIR: dataDir, AUTHSOME_REQUIRE_EMAIL_VERIFICATION: "true" }
    const first = await serve(own, env, 60_000)
    const email = "kept.secret@example.com"
    expect((await call(first.base, "POST", "/signup", { body: { email, password } })).status).toBe(201)
    // Without SMTP the mail is logged: its code, typed in after the restart.
    let code: string | undefined
    for (let i = 0; i < 100 && code === undefined; i++) {
      code = /code[^0-9]{1,80}(\d{6})\b/is.exec(first.stdout)?.[1]
      if (code === undefined) await sleep(50)
    }
    expect(code, first.stdout).toBeDefined()
    expect((await terminate(first)).code, first.stderr).toBe(0)

    const kept = statSync(join(dataDir, "authsome-secret"))
    expect(kept.mode & 0o777).toBe(0o600)
    const secret = readFileSync(join(dataDir, "authsome-secret"), "utf8").trim()
    expect(secret.length).toBeGreaterThanOrEqual(32)

    const second = await serve(own, env, 60_000)
    expect(readFileSync(join(dataDir, "authsome-secret"), "utf8").trim()).toBe(secret)
    const verified = await call(second.base, "POST", "/verify-email", { body: { email, code } })
    expect(verified.status, JSON.stringify(verified.body)).toBe(200)
    expect(verified.body.user.email_verified).toBe(true)
    expect(second.stdout + second.stderr).not.toContain(secret)
    expect((await terminate(second)).code, second.stderr).toBe(0)
  }, 150_000)
})

// ---------------------------------------------------------------------------------------------------------------
// A newcomer's first hour: every way start-up can fail says why in one line; the CLI explains itself.

describe("the first hour", () => {
  /** One stderr line, `authsome: ...`, no stack, nothing on stdout but what started before. */
  const oneLine = (result: { code: number | null; stderr: string }, label: string) => {
    expect(result.code, label).not.toBe(0)
    const lines = result.stderr.split("\n").filter((line) => line.trim() !== "")
    expect(lines, `${label}: ${result.stderr}`).toHaveLength(1)
    expect(lines[0]!.startsWith("authsome: "), lines[0]).toBe(true)
    expect(result.stderr, label).not.toMatch(/\n\s+at |ErrnoError|\{"name"/)
    return lines[0]!
  }

  it("start-up failures are one line naming the cause", async (context) => {
    const own = owner(context)
    const configFile = (content: unknown) => {
      const path = join(tempDir("config"), "authsome.json")
      writeFileSync(path, JSON.stringify(content))
      return path
    }
    const missingDatabase = new URL(adminUrl)
    missingDatabase.pathname = "/authsome_no_such_database"
    const taken = createServer()
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", () => resolve()))
    const takenPort = (taken.address() as { port: number }).port
    const notADirectory = join(tempDir("file"), "plain-file")
    writeFileSync(notADirectory, "")
    const cases: ReadonlyArray<readonly [string, Record<string, string>, RegExp]> = [
      [
        "a database that does not exist",
        { DATABASE_URL: missingDatabase.href },
        /database "authsome_no_such_database" does not exist/,
      ],
      ["a port in use", { PORT: String(takenPort), HOST: "127.0.0.1" }, /EADDRINUSE|in use/],
      [
        "a duration that is not one",
        { AUTHSOME_CONFIG: configFile({ session: { tokenTtl: "banana" } }) },
        /invalid AUTHSOME_CONFIG: session\.tokenTtl: /,
      ],
      [
        "an unknown key",
        { AUTHSOME_CONFIG: configFile({ sesion: {} }) },
        /invalid AUTHSOME_CONFIG: sesion: unknown setting/,
      ],
      [
        "a wrong type",
        { AUTHSOME_CONFIG: configFile({ password: { minLength: "twelve" } }) },
        /invalid AUTHSOME_CONFIG: password\.minLength: /,
      ],
      [
        "a data directory that cannot be made",
        { AUTHSOME_DATA_DIR: "/proc/authsome/data" },
        /AUTHSOME_DATA_DIR.*\/proc\/authsome\/data: a parent directory does not exist/,
      ],
      [
        "a data directory under a file",
        { AUTHSOME_DATA_DIR: join(notADirectory, "data") },
        /AUTHSOME_DATA_DIR.*: a part of the path is not a directory/,
      ],
    ]
    try {
      for (const [label, env, cause] of cases) {
        const dataDir = join(tempDir("first"), "data")
        const result = await run(
          own,
          ["serve"],
          {
            PORT: String(await freePort()),
            AUTHSOME_DATA_DIR: dataDir,
            ...(env.DATABASE_URL ? { AUTHSOME_SECRET: "a test root secret, shared by every instance" } : {}),
            ...env,
          },
          40_000,
        )
        expect(oneLine(result, label)).toMatch(cause)
        expect(result.stderr).not.toContain(new URL(adminUrl).password || "\u0000")
      }
    } finally {
      taken.close()
    }
  }, 180_000)

  it("a second server on the same embedded data directory is refused in one line; the first keeps it", async (context) => {
    const own = owner(context)
    const dataDir = join(tempDir("locked"), "data")
    const first = await serve(own, { AUTHSOME_DATA_DIR: dataDir }, 60_000)
    const second = await run(own, ["serve"], { PORT: String(await freePort()), AUTHSOME_DATA_DIR: dataDir })
    expect(oneLine(second, "second server")).toMatch(/the data directory .* is in use by process \d+/)
    expect((await call(first.base, "GET", "/health")).status).toBe(200)
    expect((await terminate(first)).code, first.stderr).toBe(0)
    // Stopped cleanly, it leaves the directory free for the next start.
    const third = await serve(own, { AUTHSOME_DATA_DIR: dataDir }, 60_000)
    expect((await terminate(third)).code, third.stderr).toBe(0)
  }, 150_000)

  it("npm start: SIGTERM to npm stops the server gracefully (it is the process npm signals)", async () => {
    const dataDir = join(tempDir("npm"), "data")
    const port = await freePort()
    const npm = spawn("npm", ["start", "--silent"], {
      cwd: join(import.meta.dirname, ".."),
      env: { ...process.env, PORT: String(port), HOST: "127.0.0.1", AUTHSOME_DATA_DIR: dataDir },
      stdio: ["ignore", "pipe", "pipe"],
    })
    children.add(npm)
    let output = ""
    npm.stdout!.on("data", (chunk) => (output += chunk))
    npm.stderr!.on("data", (chunk) => (output += chunk))
    const exited = new Promise<number | null>((resolve) => npm.once("exit", (code) => resolve(code)))
    const deadline = Date.now() + 60_000
    for (;;) {
      expect(Date.now(), output).toBeLessThan(deadline)
      const health = await fetch(`http://127.0.0.1:${port}${basePath}/health`).catch(() => undefined)
      if (health?.status === 200) break
      await sleep(200)
    }
    npm.kill("SIGTERM")
    expect(await withTimeout(exited, 15_000, "npm start")).toBe(0)
    expect(output).toMatch(/shutting down/)
    // The server is gone: nothing listens, and its lock on the data directory was released.
    expect(
      await fetch(`http://127.0.0.1:${port}${basePath}/health`).then(
        () => "answered",
        () => "refused",
      ),
    ).toBe("refused")
    expect(() => statSync(join(dataDir, "authsome.lock"))).toThrow()
    children.delete(npm)
  }, 90_000)

  it("the CLI: plain --help listing every variable, one line for a mistake, --log-level honoured", async (context) => {
    const own = owner(context)
    const help = await run(own, ["--help"], {})
    expect(help.code).toBe(0)
    expect(help.stdout).not.toContain(String.fromCharCode(27))
    expect(help.stdout).toMatch(/^authsome \d+\.\d+\.\d+: /)
    for (const { name } of variables) expect(help.stdout).toContain(name)
    expect(help.stdout).not.toMatch(/--wizard|--completions|USAGE \$/)

    const unknown = await run(own, ["frobnicate"], {})
    expect(unknown.code).toBe(2)
    expect(oneLine(unknown, "unknown command")).toBe(
      'authsome: unknown command "frobnicate" (commands: serve, migrate); see authsome --help',
    )
    const badOption = await run(own, ["migrate", "--stats"], {})
    expect(oneLine(badOption, "unknown option")).toMatch(/migrate: unknown argument "--stats"/)

    // --log-level debug shows the engine's debug lines; the default (info) does not.
    const dataDir = join(tempDir("debug"), "data")
    const debug = await run(own, ["migrate", "--log-level", "debug"], { AUTHSOME_DATA_DIR: dataDir })
    expect(debug.code, debug.stderr).toBe(0)
    const quiet = await run(own, ["migrate", "--status"], { AUTHSOME_DATA_DIR: dataDir })
    expect(quiet.stdout).toMatch(/^database: embedded, in /)
    expect(quiet.stdout).not.toMatch(/level=DEBUG/)
  }, 90_000)

  it("a corrupt code cache only costs time: the program compiles, runs, and writes a cache of its own", async () => {
    const copy = tempDir("code-cache")
    mkdirSync(join(copy, "bin"))
    mkdirSync(join(copy, "dist"))
    copyFileSync(bin, join(copy, "bin", "authsome.js"))
    copyFileSync(join(dirname(bin), "bundle-loader.js"), join(copy, "bin", "bundle-loader.js"))
    copyFileSync(join(root, "dist", "authsome.cjs"), join(copy, "dist", "authsome.cjs"))
    writeFileSync(join(copy, "dist", "authsome.cjs.cache"), "not a code cache")
    // The dependencies, but a cache directory of its own.
    mkdirSync(join(copy, "node_modules"))
    for (const name of readdirSync(join(root, "node_modules"))) {
      if (name !== ".cache") symlinkSync(join(root, "node_modules", name), join(copy, "node_modules", name))
    }
    const version = () =>
      new Promise<{ code: number | null; stdout: string }>((resolve) => {
        const child = spawn(process.execPath, [join(copy, "bin", "authsome.js"), "--version"], {
          stdio: ["ignore", "pipe", "inherit"],
        })
        let stdout = ""
        child.stdout!.on("data", (chunk) => (stdout += chunk))
        child.once("close", (code) => resolve({ code, stdout }))
      })
    const first = await version()
    expect(first.code).toBe(0)
    expect(first.stdout).toMatch(/^\d+\.\d+\.\d+/)
    // Its own cache, beside the bundle (never in a shared directory).
    const warmDir = join(copy, "node_modules", ".cache", "authsome")
    const [warm] = readdirSync(warmDir).filter((name) => name.endsWith(".cache"))
    expect(warm).toBeDefined()
    writeFileSync(join(warmDir, warm!), "not a code cache either")
    expect(await version()).toEqual(first)
    expect(readFileSync(join(warmDir, warm!)).length).toBeGreaterThan(10_000)
  })

  it("npm start without a build says so in one line", async () => {
    const copy = tempDir("unbuilt")
    mkdirSync(join(copy, "bin"))
    copyFileSync(bin, join(copy, "bin", "authsome.js"))
    copyFileSync(join(dirname(bin), "bundle-loader.js"), join(copy, "bin", "bundle-loader.js"))
    const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [join(copy, "bin", "authsome.js"), "serve"], {
        stdio: ["ignore", "ignore", "pipe"],
      })
      let stderr = ""
      child.stderr!.on("data", (chunk) => (stderr += chunk))
      child.once("close", (code) => resolve({ code, stderr }))
    })
    expect(oneLine(result, "unbuilt")).toMatch(/not built .* run `npm run build`/)
  })
})
