// What the bench scripts share: the database they create, the built server they start (as `npm start` does), the
// measurements they read from /proc.
import { spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import { readFileSync } from "node:fs"
import { createServer } from "node:net"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import pg from "pg"

export const root = join(dirname(fileURLToPath(import.meta.url)), "..")
export const adminUrl = process.env.AUTHSOME_BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres"
export const seconds = Number(process.env.BENCH_SECONDS ?? 10)
export const password = "correct horse battery staple"
// One root secret for every server the run starts (the database keeps what it protects).
export const secret = randomBytes(48).toString("base64")

export const log = (message) => process.stderr.write(`bench: ${message}\n`)
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

export const withAdmin = async (f) => {
  const client = new pg.Client({ connectionString: adminUrl })
  await client.connect()
  try {
    return await f(client)
  } finally {
    await client.end()
  }
}

export const createDatabase = async () => {
  const name = `authsome_bench_${randomBytes(4).toString("hex")}`
  await withAdmin((c) => c.query(`CREATE DATABASE ${name}`))
  const url = new URL(adminUrl)
  url.pathname = `/${name}`
  return { url: url.toString(), drop: () => withAdmin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)) }
}

export const freePort = () =>
  new Promise((resolve) => {
    const probe = createServer()
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address()
      probe.close(() => resolve(port))
    })
  })

/** Spawns the built server and resolves once `/health` answers 200, with the time that took. */
export const startAuthsome = async (databaseUrl, port, extraEnv = {}) => {
  const started = performance.now()
  // Started like `npm start` does, so the shebang's V8 flags apply.
  const child = spawn(join(root, "bin/authsome.js"), ["serve"], {
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl,
      PORT: String(port),
      HOST: "127.0.0.1",
      AUTHSOME_REQUIRE_EMAIL_VERIFICATION: "false",
      AUTHSOME_RATE_LIMIT: "off",
      AUTHSOME_LOCKOUT: "off",
      AUTHSOME_LOG_FORMAT: "json",
      AUTHSOME_SECRET: secret,
      // The webhook scenarios' receivers are local.
      AUTHSOME_WEBHOOKS_ALLOW_PRIVATE_TARGETS: "on",
      ...extraEnv,
    },
    stdio: ["ignore", "ignore", "inherit"],
  })
  const exited = new Promise((resolve) => child.once("exit", resolve))
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`)
    try {
      const response = await fetch(`http://127.0.0.1:${port}/v1/auth/health`)
      if (response.status === 200) break
    } catch {}
    await sleep(5)
  }
  const startupMs = performance.now() - started
  return {
    child,
    startupMs,
    stop: async () => {
      child.kill("SIGTERM")
      await exited
    },
  }
}

/** Peak resident set size (VmHWM) of a live process, in MB. */
export const peakRssMb = (pid) => {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))
  return match ? Number(match[1]) / 1024 : Number.NaN
}

export const post = async (url, body, headers = {}) => {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  })
  return { status: response.status, body: response.status === 204 ? undefined : await response.json() }
}

/** Runs autocannon in its own process and returns requests/s, p50/p99 latency and the non-2xx count. */
export const load = ({ url, connections, method = "GET", headers = {}, body, duration = seconds }) =>
  new Promise((resolve, reject) => {
    const args = [join(root, "node_modules/autocannon/autocannon.js"), "--json", "-c", String(connections)]
    args.push("-d", String(duration), "-m", method)
    for (const [k, v] of Object.entries(headers)) args.push("-H", `${k}=${v}`)
    if (body !== undefined) args.push("-b", JSON.stringify(body), "-H", "content-type=application/json")
    args.push(url)
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "ignore"] })
    let out = ""
    child.stdout.on("data", (chunk) => {
      out += chunk
    })
    child.once("exit", (code) => {
      if (code !== 0) return reject(new Error(`autocannon exited with ${code}`))
      const result = JSON.parse(out)
      resolve({
        rps: result.requests.total / result.duration,
        p50: result.latency.p50,
        p99: result.latency.p99,
        non2xx: result.non2xx + result.errors + result.timeouts,
        total: result.requests.total,
      })
    })
  })
