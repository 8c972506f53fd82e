/**
 * Helpers for tests that start PostgreSQL tools (PgBouncer, a second PostgreSQL cluster): free ports, the OS user
 * they run as (PostgreSQL and PgBouncer refuse root), finding their binaries, and stopping them even when the test
 * process exits without its teardown.
 */
import { execFileSync, spawn } from "node:child_process"
import { existsSync, readFileSync } from "node:fs"
import { chown, mkdtemp } from "node:fs/promises"
import { createServer } from "node:net"
import { tmpdir, userInfo } from "node:os"
import { join } from "node:path"

export const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })

/** The OS user to run PostgreSQL tools as: `postgres` (else `nobody`) when this process is root, else ourselves. */
export const runAs = (() => {
  if (userInfo().uid !== 0) return undefined
  for (const name of ["postgres", "nobody"]) {
    try {
      const id = (flag: string) => Number(execFileSync("id", [flag, name], { encoding: "utf8", stdio: "pipe" }).trim())
      return { name, uid: id("-u"), gid: id("-g") }
    } catch {}
  }
  throw new Error("running as root, and there is no OS user postgres or nobody to run PostgreSQL tools as")
})()

/** A fresh temporary directory owned by `runAs` (so the tools can write in it). */
export const toolDirectory = async (label: string) => {
  const dir = await mkdtemp(join(tmpdir(), `authsome-${label}-`))
  if (runAs) await chown(dir, runAs.uid, runAs.gid)
  return dir
}

/** The path of a binary: `$PATH`, /usr/sbin, /usr/lib/postgresql/<newest>/bin; a clear error when it is missing. */
export const binary = (name: string, hint: string): string => {
  const postgresBins = existsSync("/usr/lib/postgresql")
    ? execFileSync("ls", ["/usr/lib/postgresql"], { encoding: "utf8" })
        .split("\n")
        .filter((version) => /^\d+$/.test(version))
        .sort((a, b) => Number(b) - Number(a))
        .map((version) => `/usr/lib/postgresql/${version}/bin`)
    : []
  const dirs = [...(process.env.PATH ?? "").split(":"), "/usr/sbin", "/usr/local/sbin", ...postgresBins]
  for (const dir of dirs) {
    if (dir !== "" && existsSync(join(dir, name))) return join(dir, name)
  }
  throw new Error(`${name} not found (${hint})`)
}

/** Runs a tool to completion as `runAs`; throws with its output when it fails. */
export const runTool = (file: string, args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  new Promise<string>((resolve, reject) => {
    const [command, commandArgs] = runAs ? ["runuser", ["-u", runAs.name, "--", file, ...args]] : [file, args]
    const child = spawn(command, commandArgs as Array<string>, {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
      cwd: tmpdir(),
    })
    let output = ""
    child.stdout.on("data", (chunk) => (output += chunk))
    child.stderr.on("data", (chunk) => (output += chunk))
    child.on("error", reject)
    child.on("exit", (code) =>
      code === 0 ? resolve(output) : reject(new Error(`${file} ${args.join(" ")} exited ${code}:\n${output}`)),
    )
  })

/** Starts a long-running tool as `runAs`; its output is kept (the last lines) for error messages. */
export const startTool = (file: string, args: ReadonlyArray<string>) => {
  const [command, commandArgs] = runAs ? ["runuser", ["-u", runAs.name, "--", file, ...args]] : [file, args]
  const child = spawn(command, commandArgs as Array<string>, { stdio: ["ignore", "pipe", "pipe"], cwd: tmpdir() })
  const log: Array<string> = []
  const keep = (chunk: Buffer) => {
    log.push(chunk.toString())
    if (log.length > 100) log.shift()
  }
  child.stdout.on("data", keep)
  child.stderr.on("data", keep)
  return { child, log }
}

/** Whether the process runs (a zombie does not). Linux: /proc. */
export const running = (pid: number) => {
  try {
    return !/^\d+ \(.*\) Z/s.test(readFileSync(`/proc/${pid}/stat`, "utf8"))
  } catch {
    return false
  }
}

const sleepSync = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)

/** Signals `pid` and waits (synchronously, up to 10 s) until it is gone. */
export const killAndWait = (pid: number, signal: NodeJS.Signals) => {
  try {
    process.kill(pid, signal)
  } catch {
    return
  }
  for (const deadline = Date.now() + 10_000; Date.now() < deadline && running(pid); ) sleepSync(20)
}

/** The PID in the first line of a pid file (PostgreSQL's postmaster.pid, PgBouncer's pidfile), if it exists. */
export const pidFrom = (file: string): number | undefined => {
  try {
    const pid = Number(readFileSync(file, "utf8").split("\n")[0])
    return Number.isInteger(pid) && pid > 0 ? pid : undefined
  } catch {
    return undefined
  }
}

/** Runs `stop` when the process exits without the test's teardown (an interrupted run). Returns the unregister. */
export const onExit = (stop: () => void) => {
  process.prependListener("exit", stop)
  return () => {
    process.off("exit", stop)
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
