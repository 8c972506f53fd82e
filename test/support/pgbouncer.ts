/**
 * PgBouncer (Debian's `pgbouncer`; `.ci/run` installs it) in front of a PostgreSQL server, for the tests that run the
 * engine behind a pooler: started on a free port in a temporary directory, every database of the server reachable
 * through it under the same name, stopped (and its directory removed) by `stop` or when the process exits.
 */
import { rm, writeFile } from "node:fs/promises"
import { join } from "node:path"
import pg from "pg"
import {
  binary,
  freePort,
  killAndWait,
  onExit,
  pidFrom,
  running,
  sleep,
  startTool,
  toolDirectory,
} from "./processes.js"

export interface PgBouncer {
  readonly port: number
  /** `databaseUrl` (a database on the target server) as reached through the pooler. */
  readonly urlFor: (databaseUrl: string) => string
  readonly stop: () => Promise<void>
}

export interface PgBouncerOptions {
  /** Any URL of the server to pool (its host, port, user and password are used). */
  readonly target: string
  readonly poolMode?: "transaction" | "session"
  /** Server connections per database and user: fewer than the clients' connections, so they are multiplexed. */
  readonly poolSize?: number
}

export const startPgBouncer = async (options: PgBouncerOptions): Promise<PgBouncer> => {
  const executable = binary("pgbouncer", "install Debian's package: apt-get install pgbouncer; .ci/run does")
  const target = new URL(options.target)
  const dir = await toolDirectory("pgbouncer")
  const port = await freePort()
  const pidfile = join(dir, "pgbouncer.pid")
  const server = [
    `host=${target.hostname}`,
    `port=${target.port || 5432}`,
    `user=${decodeURIComponent(target.username || "postgres")}`,
    ...(target.password ? [`password=${decodeURIComponent(target.password)}`] : []),
  ].join(" ")
  const ini = join(dir, "pgbouncer.ini")
  await writeFile(
    ini,
    [
      "[databases]",
      `* = ${server}`,
      "[pgbouncer]",
      "listen_addr = 127.0.0.1",
      `listen_port = ${port}`,
      "unix_socket_dir =",
      // Every client is let in and logs in to the server as the target's user: the tests care about pooling.
      "auth_type = any",
      `pool_mode = ${options.poolMode ?? "transaction"}`,
      `default_pool_size = ${options.poolSize ?? 4}`,
      "max_client_conn = 1000",
      "ignore_startup_parameters = extra_float_digits",
      `pidfile = ${pidfile}`,
      "log_connections = 0",
      "log_disconnections = 0",
      "",
    ].join("\n"),
    { mode: 0o644 },
  )
  const { child, log } = startTool(executable, [ini])
  const stopNow = () => {
    const pid = pidFrom(pidfile) ?? child.pid
    if (pid !== undefined) killAndWait(pid, "SIGTERM")
  }
  const unregister = onExit(stopNow)
  const stop = async () => {
    stopNow()
    unregister()
    await rm(dir, { recursive: true, force: true })
  }

  const probeUrl = new URL(options.target)
  probeUrl.hostname = "127.0.0.1"
  probeUrl.port = String(port)
  for (let attempt = 0; ; attempt++) {
    const client = new pg.Client({ connectionString: probeUrl.toString(), connectionTimeoutMillis: 1_000 })
    client.on("error", () => {})
    try {
      await client.connect()
      await client.query("SELECT 1")
      await client.end()
      break
    } catch (error) {
      await client.end().catch(() => {})
      if (attempt > 100 || (child.pid !== undefined && !running(child.pid) && child.exitCode !== null)) {
        await stop()
        throw new Error(`PgBouncer did not start (${String(error)}):\n${log.join("")}`)
      }
      await sleep(50)
    }
  }

  return {
    port,
    urlFor: (databaseUrl) => {
      const url = new URL(databaseUrl)
      url.hostname = "127.0.0.1"
      url.port = String(port)
      return url.toString()
    },
    stop,
  }
}
