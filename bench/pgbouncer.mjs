// The pooler scenario of `npm run bench`: the session check through PgBouncer in transaction mode (a second server
// on the same database with AUTHSOME_DB_POOL_MODE=transaction) against the same check on the direct connection, in the
// same run, after a warm-up of the pooled server, interleaved over three rounds (alternating which goes first) and
// averaged. PgBouncer is Debian's `pgbouncer` (1.18; .ci/run installs it),
// started on a free port in a temporary directory, as the OS user `postgres` when the bench runs as root.
import { execFileSync, spawn } from "node:child_process"
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import os from "node:os"
import { join } from "node:path"

const pgbouncerBinary = () =>
  [...(process.env.PATH ?? "").split(":"), "/usr/sbin", "/usr/local/sbin"]
    .map((dir) => join(dir, "pgbouncer"))
    .find((path) => existsSync(path))

/** PgBouncer in transaction mode in front of `databaseUrl`'s server; `url` reaches the same database through it. */
const startPgBouncer = async (databaseUrl, port, poolSize) => {
  const binary = pgbouncerBinary()
  if (binary === undefined) throw new Error("pgbouncer not found (apt-get install pgbouncer)")
  const target = new URL(databaseUrl)
  const dir = mkdtempSync(join(os.tmpdir(), "authsome-bench-pgbouncer-"))
  const root = os.userInfo().uid === 0
  if (root) execFileSync("chown", ["postgres", dir])
  const ini = join(dir, "pgbouncer.ini")
  const server = [`host=${target.hostname}`, `port=${target.port || 5432}`, `user=${target.username || "postgres"}`]
  if (target.password) server.push(`password=${decodeURIComponent(target.password)}`)
  writeFileSync(
    ini,
    [
      "[databases]",
      `* = ${server.join(" ")}`,
      "[pgbouncer]",
      "listen_addr = 127.0.0.1",
      `listen_port = ${port}`,
      "unix_socket_dir =",
      "auth_type = any",
      "pool_mode = transaction",
      `default_pool_size = ${poolSize}`,
      "max_client_conn = 1000",
      "ignore_startup_parameters = extra_float_digits",
      "log_connections = 0",
      "log_disconnections = 0",
      `pidfile = ${join(dir, "pgbouncer.pid")}`,
      "",
    ].join("\n"),
    { mode: 0o644 },
  )
  const [command, args] = root ? ["runuser", ["-u", "postgres", "--", binary, ini]] : [binary, [ini]]
  const child = spawn(command, args, { stdio: ["ignore", "ignore", "inherit"] })
  const exited = new Promise((resolve) => child.once("exit", resolve))
  const url = new URL(databaseUrl)
  url.hostname = "127.0.0.1"
  url.port = String(port)
  return {
    url: url.toString(),
    stop: async () => {
      const pidfile = join(dir, "pgbouncer.pid")
      try {
        process.kill(Number(execFileSync("cat", [pidfile], { encoding: "utf8" }).trim()), "SIGTERM")
      } catch {
        child.kill("SIGTERM")
      }
      await exited
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/**
 * `sessionLoad` is the direct server's session-check load (its URL ends in the base path's `/session`); the second
 * server reaches the same database through PgBouncer, so the same token validates on both.
 */
export const pgbouncerScenario = async ({ databaseUrl, sessionLoad, startAuthsome, load, freePort, log }) => {
  // As many server connections as the direct server's pool (AUTHSOME_DB_MAX_CONNECTIONS 25): the comparison is of the hop.
  const poolSize = 25
  const bouncer = await startPgBouncer(databaseUrl, await freePort(), poolSize)
  const port = await freePort()
  let server
  try {
    server = await startAuthsome(bouncer.url, port, { AUTHSOME_DB_POOL_MODE: "transaction" })
    const pooledLoad = { ...sessionLoad, url: `http://127.0.0.1:${port}${new URL(sessionLoad.url).pathname}` }
    // The direct server has run every scenario before this one; the pooled one has just started: it is warmed up
    // (JIT, pools) first, and the rounds alternate which goes first, so neither gains from its place.
    log("session check through PgBouncer: warm-up")
    await load({ ...pooledLoad, duration: 3 })
    const direct = []
    const pooled = []
    for (let round = 0; round < 3; round++) {
      log(`session check direct vs through PgBouncer (transaction mode): round ${round + 1}`)
      if (round % 2 === 0) {
        direct.push(await load(sessionLoad))
        pooled.push(await load(pooledLoad))
      } else {
        pooled.push(await load(pooledLoad))
        direct.push(await load(sessionLoad))
      }
    }
    const mean = (runs) => runs.reduce((sum, run) => sum + run.rps, 0) / runs.length
    return { pooledRps: mean(pooled), directRps: mean(direct), pgbouncerPoolSize: poolSize, pooled, direct }
  } finally {
    await server?.stop()
    await bouncer.stop()
  }
}

/** The report's row: [scenario, authsome, baseline, ratio, target, met]. */
export const pgbouncerRow = (scenario) => {
  const ratio = scenario.pooledRps / scenario.directRps
  return [
    "session check via PgBouncer (transaction) req/s",
    scenario.pooledRps.toFixed(0),
    `${scenario.directRps.toFixed(0)} (direct)`,
    ratio.toFixed(2),
    ">= 0.80 x direct",
    ratio >= 0.8,
  ]
}
