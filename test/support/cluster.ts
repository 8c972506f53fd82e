/**
 * Throwaway PostgreSQL clusters for the replica and failover tests: a primary made by `initdb` and streaming standbys
 * made by `pg_basebackup -R`, on free ports of 127.0.0.1, in temporary directories (PostgreSQL's own binaries, e.g.
 * /usr/lib/postgresql/15/bin; as the OS user `postgres` when the tests run as root). Stopped and removed by `remove`,
 * or when the test process exits.
 */
import { rm } from "node:fs/promises"
import { join } from "node:path"
import pg from "pg"
import { binary, freePort, killAndWait, onExit, pidFrom, runTool, toolDirectory } from "./processes.js"

const hint = "install PostgreSQL's server package (Debian: postgresql)"

export interface Cluster {
  readonly port: number
  readonly dataDir: string
  /** `postgres://postgres@127.0.0.1:<port>/<database>` */
  readonly url: (database?: string) => string
  /** Runs one statement (as the superuser, database `postgres`). */
  readonly query: <R extends pg.QueryResultRow = any>(text: string, values?: ReadonlyArray<unknown>) => Promise<R[]>
  readonly start: () => Promise<void>
  /** `immediate` is a crash (no shutdown checkpoint, connections cut); `fast` a clean stop. */
  readonly stop: (mode?: "immediate" | "fast") => Promise<void>
  /** Turns a standby into a primary (`pg_ctl promote`, waiting until it accepts writes). */
  readonly promote: () => Promise<void>
  readonly remove: () => Promise<void>
}

const settings = (port: number, dir: string) =>
  [
    `port=${port}`,
    "listen_addresses=127.0.0.1",
    `unix_socket_directories=${dir}`,
    // Throwaway data: the operating system never crashes under a test, a server process may (stop -m immediate).
    "fsync=off",
    "full_page_writes=off",
    "wal_level=replica",
    "max_wal_senders=5",
    "hot_standby=on",
    "wal_keep_size=64MB",
  ]
    .map((setting) => `-c ${setting}`)
    .join(" ")

const makeCluster = async (base: string, dataDir: string, port: number): Promise<Cluster> => {
  const pgCtl = binary("pg_ctl", hint)
  const log = join(base, `${port}.log`)
  const crash = () => {
    const pid = pidFrom(join(dataDir, "postmaster.pid"))
    if (pid !== undefined) killAndWait(pid, "SIGQUIT")
  }
  const unregister = onExit(crash)
  const url = (database = "postgres") => `postgres://postgres@127.0.0.1:${port}/${database}`
  const query = async (text: string, values: ReadonlyArray<unknown> = []) => {
    const client = new pg.Client({ connectionString: url(), connectionTimeoutMillis: 3_000 })
    client.on("error", () => {})
    await client.connect()
    try {
      return (await client.query(text, [...values])).rows
    } finally {
      await client.end().catch(() => {})
    }
  }
  const start = async () => {
    await runTool(pgCtl, ["-D", dataDir, "-l", log, "-o", settings(port, base), "-w", "-t", "60", "start"])
  }
  return {
    port,
    dataDir,
    url,
    query,
    start,
    stop: async (mode = "fast") => {
      await runTool(pgCtl, ["-D", dataDir, "-m", mode, "-w", "-t", "60", "stop"])
    },
    promote: async () => {
      await runTool(pgCtl, ["-D", dataDir, "-w", "-t", "60", "promote"])
    },
    remove: async () => {
      crash()
      unregister()
      await rm(dataDir, { recursive: true, force: true })
    },
  }
}

/** A new primary (trust authentication on 127.0.0.1, replication allowed), started. */
export const startPrimary = async (): Promise<Cluster & { readonly base: string }> => {
  const base = await toolDirectory("cluster")
  const dataDir = join(base, "primary")
  await runTool(binary("initdb", hint), [
    "-D",
    dataDir,
    "-U",
    "postgres",
    "--auth=trust",
    "--no-sync",
    "--encoding=UTF8",
    "--locale=C",
  ])
  const cluster = await makeCluster(base, dataDir, await freePort())
  await cluster.start()
  return {
    ...cluster,
    base,
    remove: async () => {
      await cluster.remove()
      await rm(base, { recursive: true, force: true })
    },
  }
}

/** A streaming standby of `primary` (`pg_basebackup -R`: it follows the primary until promoted), started. */
export const startStandby = async (primary: Cluster & { readonly base: string }, name = "standby") => {
  const dataDir = join(primary.base, name)
  await runTool(binary("pg_basebackup", hint), [
    "-h",
    "127.0.0.1",
    "-p",
    String(primary.port),
    "-U",
    "postgres",
    "-D",
    dataDir,
    "-R",
    "-X",
    "stream",
    "--checkpoint=fast",
    "--no-sync",
    ...["-d", `application_name=${name}`],
  ])
  const cluster = await makeCluster(primary.base, dataDir, await freePort())
  await cluster.start()
  return cluster
}

/** Waits until `standby` has replayed everything `primary` has written so far. */
export const waitForReplay = async (primary: Cluster, standby: Cluster, timeoutMs = 10_000) => {
  const lsn = (await primary.query<{ lsn: string }>("SELECT pg_current_wal_lsn()::text AS lsn"))[0]!.lsn
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const query = "SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS done"
    const rows = await standby.query<{ done: boolean }>(query, [lsn])
    if (rows[0]?.done) return
    if (Date.now() > deadline) throw new Error("the standby did not catch up")
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}
