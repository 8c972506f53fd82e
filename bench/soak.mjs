// `npm run bench:soak` (also `npm run bench -- --soak`): minutes of mixed load at fixed rates against the built
// server on a fresh PostgreSQL database — session checks, API-key requests, refreshes, sign-ins and sign-ups, with a
// webhook receiver subscribed to the events they cause. Reports errors (must be 0), p50/p99 per route per minute and
// the server's RSS over time (no upward trend after the first minute), and appends the raw figures to bench/results/.
import { createHmac } from "node:crypto"
import { mkdirSync, readFileSync, writeFileSync } from "node:fs"
import http from "node:http"
import { join } from "node:path"
import { createDatabase, freePort, log, password, peakRssMb, post, root, sleep, startAuthsome } from "./lib.mjs"

const minutes = Number(process.env.SOAK_MINUTES ?? 5)
const durationMs = minutes * 60_000

/** Routes under load: connections (concurrent requests) and the fixed rate they are paced to, requests/s. */
const streams = {
  session: { connections: 8, rate: 600 },
  apiKey: { connections: 2, rate: 150 },
  refresh: { connections: 2, rate: 20 },
  signIn: { connections: 2, rate: 8 },
  signUp: { connections: 2, rate: 4 },
}

const rssMb = (pid) => {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))
  return match ? Number(match[1]) / 1024 : Number.NaN
}

const percentile = (sorted, p) =>
  sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]

/** Least-squares slope of `points` ([x, y]) — the RSS trend in MB per minute. */
const slope = (points) => {
  const n = points.length
  const mx = points.reduce((s, [x]) => s + x, 0) / n
  const my = points.reduce((s, [, y]) => s + y, 0) / n
  const sxy = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0)
  const sxx = points.reduce((s, [x]) => s + (x - mx) ** 2, 0)
  return sxx === 0 ? 0 : sxy / sxx
}

/** One JSON request over a keep-alive agent; resolves with the status and parsed body (never rejects). */
const request = (agent, url, { method = "GET", headers = {}, body } = {}) =>
  new Promise((resolve) => {
    const payload = body === undefined ? undefined : JSON.stringify(body)
    const req = http.request(
      url,
      {
        method,
        agent,
        headers: payload === undefined ? headers : { ...headers, "content-type": "application/json" },
      },
      (res) => {
        const chunks = []
        res.on("data", (chunk) => chunks.push(chunk))
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8")
          let parsed
          try {
            parsed = text ? JSON.parse(text) : undefined
          } catch {}
          resolve({ status: res.statusCode, body: parsed })
        })
      },
    )
    req.on("error", (error) => resolve({ status: 0, error: error.message }))
    req.end(payload)
  })

/** A local webhook receiver that checks Standard Webhooks signatures and counts what arrives per minute. */
const startReceiver = async (startedAt) => {
  const received = new Map()
  let key
  let badSignatures = 0
  const server = http.createServer((req, res) => {
    const chunks = []
    req.on("data", (chunk) => chunks.push(chunk))
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8")
      const id = req.headers["webhook-id"]
      const expected = key
        ? createHmac("sha256", key).update(`${id}.${req.headers["webhook-timestamp"]}.${body}`).digest("base64")
        : undefined
      const signatures = String(req.headers["webhook-signature"] ?? "").split(" ")
      if (!signatures.includes(`v1,${expected}`)) badSignatures++
      const minute = Math.floor((Date.now() - startedAt()) / 60_000)
      received.set(id, minute)
      res.writeHead(200).end()
    })
  })
  const port = await freePort()
  await new Promise((resolve) => server.listen(port, "127.0.0.1", resolve))
  return {
    url: `http://127.0.0.1:${port}/hook`,
    setSecret: (secret) => {
      key = Buffer.from(secret.replace(/^whsec_/, ""), "base64")
    },
    received,
    badSignatures: () => badSignatures,
    close: () => new Promise((resolve) => server.close(resolve)),
  }
}

const main = async () => {
  const db = await createDatabase()
  const port = await freePort()
  let startedAt = Date.now()
  const receiver = await startReceiver(() => startedAt)
  const server = await startAuthsome(db.url, port)
  const base = `http://127.0.0.1:${port}/v1/auth`
  try {
    const owner = await post(`${base}/signup`, { email: "owner@example.com", password })
    if (owner.status !== 201) throw new Error(`sign-up failed: ${JSON.stringify(owner.body)}`)
    const ownerAuth = { authorization: `Bearer ${owner.body.session_token}` }
    const key = await post(`${base}/keys`, { name: "soak" }, ownerAuth)
    if (key.status !== 201) throw new Error(`key creation failed: ${JSON.stringify(key.body)}`)
    const hook = await post(
      `${base}/webhooks`,
      { url: receiver.url, events: ["user.created", "auth.signin", "session.created"] },
      ownerAuth,
    )
    const webhooks = hook.status === 201
    if (webhooks) receiver.setSecret(hook.body.secret)
    else log(`webhooks not available (${hook.status}); soaking without deliveries`)

    const signInUsers = []
    for (let i = 0; i < streams.signIn.connections; i++) {
      const email = `signin-${i}@example.com`
      const created = await post(`${base}/signup`, { email, password })
      if (created.status !== 201) throw new Error(`sign-up failed: ${JSON.stringify(created.body)}`)
      signInUsers.push(email)
    }
    const refreshChains = []
    for (let i = 0; i < streams.refresh.connections; i++) {
      const created = await post(`${base}/signup`, { email: `refresh-${i}@example.com`, password })
      refreshChains.push(created.body.refresh_token)
    }

    // Per route: { [minute]: latencies[] }, and the errors (non-2xx or network) seen.
    const samples = Object.fromEntries(Object.keys(streams).map((name) => [name, new Map()]))
    const errors = Object.fromEntries(Object.keys(streams).map((name) => [name, []]))
    // Idle sockets are dropped after 4 s, before the server's announced `Keep-Alive: timeout=5`, as browsers and
    // undici do. Without it a socket left idle ~6 s is reused just as the server closes it, and the request is reset:
    // HTTP/1.1's keep-alive race, which the low-rate routes hit twice in a 12-minute soak (BENCHMARKS.md).
    const agents = Object.fromEntries(
      Object.entries(streams).map(([name, s]) => [
        name,
        new http.Agent({ keepAlive: true, maxSockets: s.connections, timeout: 4000 }),
      ]),
    )
    let signUps = 0
    const send = {
      session: () => request(agents.session, `${base}/session`, { headers: ownerAuth }),
      apiKey: () => request(agents.apiKey, `${base}/me`, { headers: { "x-api-key": key.body.key } }),
      refresh: async (worker) => {
        const result = await request(agents.refresh, `${base}/refresh`, {
          method: "POST",
          body: { refresh_token: refreshChains[worker] },
        })
        if (result.status === 200) refreshChains[worker] = result.body.refresh_token
        return result
      },
      signIn: (worker) =>
        request(agents.signIn, `${base}/signin`, { method: "POST", body: { email: signInUsers[worker], password } }),
      signUp: () =>
        request(agents.signUp, `${base}/signup`, {
          method: "POST",
          body: { email: `soak-${signUps++}@example.com`, password },
        }),
    }

    startedAt = Date.now()
    const deadline = startedAt + durationMs
    const rss = []
    const sampler = setInterval(() => rss.push([(Date.now() - startedAt) / 60_000, rssMb(server.child.pid)]), 5000)
    log(`soaking for ${minutes} min: ${JSON.stringify(streams)}`)
    const worker = async (name, index, interval) => {
      let next = Date.now() + Math.random() * interval
      while (next < deadline) {
        const wait = next - Date.now()
        if (wait > 0) await sleep(wait)
        const started = performance.now()
        const result = await send[name](index)
        const minute = Math.min(minutes - 1, Math.floor((Date.now() - startedAt) / 60_000))
        const bucket = samples[name].get(minute) ?? []
        bucket.push(performance.now() - started)
        samples[name].set(minute, bucket)
        if (result.status < 200 || result.status >= 300) errors[name].push(result.status || result.error)
        next += interval
      }
    }
    const progress = setInterval(() => log(`${Math.round((Date.now() - startedAt) / 1000)} s`), 60_000)
    await Promise.all(
      Object.entries(streams).flatMap(([name, s]) =>
        Array.from({ length: s.connections }, (_, i) => worker(name, i, (1000 * s.connections) / s.rate)),
      ),
    )
    clearInterval(progress)
    clearInterval(sampler)

    // Deliveries of the events caused during the soak: wait for the dispatcher to catch up.
    let expectedDeliveries = 0
    if (webhooks) {
      for (let waited = 0; waited < 60_000; waited += 1000) {
        const pending = await pendingDeliveries(db.url)
        if (pending === 0) break
        await sleep(1000)
      }
      expectedDeliveries = await deliveredRows(db.url)
    }

    const routes = {}
    for (const [name, byMinute] of Object.entries(samples)) {
      routes[name] = {
        rate: streams[name].rate,
        errors: errors[name].length,
        errorStatuses: [...new Set(errors[name])],
        minutes: [...byMinute.entries()]
          .sort(([a], [b]) => a - b)
          .map(([minute, latencies]) => {
            const sorted = latencies.sort((a, b) => a - b)
            return {
              minute: minute + 1,
              requests: sorted.length,
              rps: sorted.length / 60,
              p50: percentile(sorted, 50),
              p99: percentile(sorted, 99),
            }
          }),
      }
    }
    const afterWarmUp = rss.filter(([minute]) => minute >= 1)
    const results = {
      date: new Date().toISOString(),
      kind: "soak",
      minutes,
      streams,
      routes,
      rss: { samples: rss, peakMb: peakRssMb(server.child.pid), slopeMbPerMinute: slope(afterWarmUp) },
      webhooks: webhooks
        ? {
            received: receiver.received.size,
            delivered: expectedDeliveries,
            badSignatures: receiver.badSignatures(),
          }
        : null,
    }
    report(results)
  } finally {
    await server.stop()
    await receiver.close()
    await db.drop()
  }
}

const countRows = async (url, where) => {
  const { default: pg } = await import("pg")
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    const { rows } = await client.query(`SELECT count(*)::int AS n FROM authsome_webhook_deliveries WHERE ${where}`)
    return rows[0].n
  } finally {
    await client.end()
  }
}
const pendingDeliveries = (url) => countRows(url, "status = 'pending'")
const deliveredRows = (url) => countRows(url, "status = 'delivered'")

const report = (results) => {
  const fmt = (n) => (Number.isFinite(n) ? n.toFixed(1) : "n/a")
  const names = Object.keys(results.routes)
  const minuteCount = Math.max(...names.map((n) => results.routes[n].minutes.length))
  const header = ["minute", ...names.map((n) => `${n} req/s p50/p99 ms`)]
  const rows = [header]
  for (let m = 0; m < minuteCount; m++) {
    rows.push([
      String(m + 1),
      ...names.map((n) => {
        const row = results.routes[n].minutes[m]
        return row ? `${fmt(row.rps)} ${fmt(row.p50)}/${fmt(row.p99)}` : ""
      }),
    ])
  }
  const widths = header.map((_, i) => Math.max(...rows.map((r) => r[i].length)))
  for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i])).join("  "))
  const errorCount = names.reduce((sum, n) => sum + results.routes[n].errors, 0)
  console.log(
    `errors: ${errorCount}${errorCount ? ` ${JSON.stringify(names.map((n) => [n, results.routes[n].errorStatuses]))}` : ""}`,
  )
  const rss = results.rss.samples.map(([, mb]) => Math.round(mb))
  console.log(`RSS MB every 5 s: ${rss.join(" ")}`)
  console.log(
    `peak RSS ${fmt(results.rss.peakMb)} MB (target <= 250); trend after the first minute ${fmt(results.rss.slopeMbPerMinute)} MB/min`,
  )
  if (results.webhooks)
    console.log(
      `webhook deliveries: ${results.webhooks.received} received, ${results.webhooks.delivered} marked delivered, ${results.webhooks.badSignatures} bad signatures`,
    )
  mkdirSync(join(root, "bench/results"), { recursive: true })
  const file = join(root, "bench/results", `soak-${results.date.replace(/[:.]/g, "-")}.json`)
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`)
  console.log(`results: ${file}`)
}

await main()
