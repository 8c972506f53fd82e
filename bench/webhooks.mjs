// Webhook delivery throughput: events committed through the API (`POST /keys`, each an `apikey.created` event) fan out
// to 4 local receivers (one slow); measured from the first commit to the last receiver's 2xx. The same-run baseline
// POSTs the very same signed requests straight to the same receivers, from its own process, with the dispatcher's
// concurrency. Then the session check's p99 (steady load) alone and while a backlog of deliveries is dispatched.
//
// `webhooksBench(...)` is called by bench/run.mjs; `node bench/webhooks.mjs` runs it alone on a fresh database.
import { execFileSync, fork } from "node:child_process"
import { readdirSync, readFileSync } from "node:fs"
import { Agent, createServer, request } from "node:http"
import { fileURLToPath } from "node:url"
import pg from "pg"
import { createDatabase, freePort, load, log, password, post, root, seconds, sleep, startAuthsome } from "./lib.mjs"
/** The dispatcher's default concurrency (`webhooks.concurrency`); the baseline sends with the same. */
const concurrency = 64
const slowMs = 50

/** A receiver answering 204 (after `delayMs`), keeping each request's headers and body. */
const startReceiver = (delayMs) =>
  new Promise((resolve) => {
    const received = []
    const server = createServer((req, res) => {
      const chunks = []
      req.on("data", (chunk) => chunks.push(chunk))
      req.on("end", () => {
        const answer = () => {
          res.writeHead(204).end()
          received.push({ at: performance.now(), headers: req.headers, body: Buffer.concat(chunks).toString("utf8") })
        }
        if (delayMs > 0) setTimeout(answer, delayMs)
        else answer()
      })
    })
    server.listen(0, "127.0.0.1", () =>
      resolve({
        url: `http://127.0.0.1:${server.address().port}/hook`,
        received,
        // Kept-alive connections are dropped too: the dispatcher may still be working through a backlog over one.
        close: () =>
          new Promise((r) => {
            server.close(r)
            server.closeAllConnections()
          }),
      }),
    )
  })

const waitUntil = async (predicate, timeoutMs, what) => {
  const deadline = Date.now() + timeoutMs
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`webhooks bench: ${what} not reached in ${timeoutMs} ms`)
    await sleep(5)
  }
}

/** Runs `count` tasks, `parallel` at a time. */
const pool = async (count, parallel, task) => {
  let next = 0
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < count) await task(next++)
    }),
  )
}

/** The baseline sender, in its own process: POSTs the given requests with `concurrency` in flight, reports the time. */
const sendDirectly = (requests) =>
  new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), ["--send"], { stdio: ["ignore", "inherit", "inherit", "ipc"] })
    child.once("message", resolve)
    child.once("exit", (code) => code !== 0 && reject(new Error(`baseline sender exited with ${code}`)))
    child.send(requests)
  })

const sender = () =>
  process.once("message", async (requests) => {
    // kept-alive connections, as the dispatcher's (same options)
    const agent = new Agent({ keepAlive: true, keepAliveMsecs: 1_000, maxFreeSockets: concurrency, timeout: 5_000 })
    const started = performance.now()
    let next = 0
    const one = ({ url, headers, body }) =>
      new Promise((resolve) => {
        const target = new URL(url)
        const req = request(
          {
            hostname: target.hostname,
            port: target.port,
            path: target.pathname,
            method: "POST",
            headers,
            agent,
          },
          (res) => {
            res.resume()
            res.on("end", resolve)
          },
        )
        req.on("error", resolve)
        req.end(body)
      })
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < requests.length) await one(requests[next++])
      }),
    )
    const cpu = process.cpuUsage()
    process.send({ ms: performance.now() - started, cpuMs: (cpu.user + cpu.system) / 1000 })
    process.exit(0)
  })

/**
 * The scenario, on a running server at `base` whose `token` is the owner's (may manage webhooks and keys), on
 * `databaseUrl`. `load` is run.mjs's autocannon driver. The server must allow private targets.
 */
/** CPU time (user + system) a process has used so far, in ms (Linux). */
const cpuMsOf = (pid) => {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ")
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100 // clock ticks, 100 per second
}

/** CPU time of every PostgreSQL process on this machine so far, in ms (the server's queries run in them). */
const postgresCpuMs = () => {
  let total = 0
  for (const pid of readdirSync("/proc").filter((name) => /^\d+$/.test(name))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
      if (stat.includes("(postgres)")) total += cpuMsOf(pid)
    } catch {
      // gone meanwhile
    }
  }
  return total
}

export const webhooksBench = async ({
  base,
  token,
  databaseUrl,
  load,
  seconds,
  serverPid,
  events = 3000,
  log = () => {},
}) => {
  const auth = { authorization: `Bearer ${token}` }
  const receivers = await Promise.all([startReceiver(0), startReceiver(0), startReceiver(0), startReceiver(slowMs)])
  try {
    const hooks = []
    for (const receiver of receivers) {
      const created = await post(`${base}/webhooks`, { url: receiver.url, events: ["apikey.created"] }, auth)
      if (created.status !== 201) throw new Error(`webhook creation failed: ${JSON.stringify(created.body)}`)
      hooks.push(created.body.id)
    }
    const received = () => receivers.reduce((sum, r) => sum + r.received.length, 0)

    // Through the API: events committed at the rate the API makes them, delivered as they commit.
    const viaApi = Math.min(events, 300)
    log(`webhooks: ${viaApi} events through the API to 4 receivers (one answering after ${slowMs} ms)`)
    const started = performance.now()
    await pool(viaApi, 16, async (i) => {
      const key = await post(`${base}/keys`, { name: `bench-${i}` }, auth)
      if (key.status !== 201) throw new Error(`key creation failed: ${JSON.stringify(key.body)}`)
    })
    const committedMs = performance.now() - started
    await waitUntil(() => received() >= viaApi * 4, 120_000, "every delivery")
    const lastOf = (from) => Math.max(...receivers.flatMap((r) => r.received.slice(from.get(r)).map((c) => c.at)))
    const api = {
      events: viaApi,
      committedMs,
      lastDeliveredMs: lastOf(new Map(receivers.map((r) => [r, 0]))) - started,
    }

    // Dispatch throughput: `events` committed at once (rows as commits leave them, plus a test delivery through the
    // API that wakes the dispatcher), from that commit to the last receiver's 2xx.
    log(`webhooks: ${events} events committed at once, dispatched to the 4 receivers`)
    const offsets = new Map(receivers.map((r) => [r, r.received.length]))
    const cpuBefore = cpuMsOf(serverPid)
    // from the commit: the bench's own insert of the rows is not the dispatcher's time
    const burstStarted = await queueBacklog(databaseUrl, hooks, events * 4, new Date(), "burst")
    const postgresBefore = postgresCpuMs()
    await post(`${base}/webhooks/${hooks[0]}/test`, {}, auth)
    await waitUntil(
      () => receivers.reduce((sum, r) => sum + r.received.length - offsets.get(r), 0) >= events * 4 + 1,
      120_000,
      "every delivery of the burst",
    )
    const deliveredMs = lastOf(offsets) - burstStarted
    // the server's CPU per delivery (PostgreSQL's own work not included), against the baseline sender's
    const serverCpuMsPerDelivery = (cpuMsOf(serverPid) - cpuBefore) / (events * 4 + 1)
    const postgresCpuMsPerDelivery = (postgresCpuMs() - postgresBefore) / (events * 4 + 1)
    const firstMs =
      Math.min(...receivers.flatMap((r) => r.received.slice(offsets.get(r)).map((c) => c.at))) - burstStarted
    const authsome = {
      events,
      deliveries: events * 4,
      ms: deliveredMs,
      eventsPerSecond: events / (deliveredMs / 1000),
      // without the pickup (the wake-up request, the first claim): first 2xx to last
      firstDeliveryMs: firstMs,
      steadyEventsPerSecond: events / ((deliveredMs - firstMs) / 1000),
      serverCpuMsPerDelivery,
      postgresCpuMsPerDelivery,
      // each receiver's last 2xx (the slow one is last): how long each waited on the others
      lastByReceiverMs: receivers.map((r) =>
        Math.round(Math.max(...r.received.slice(offsets.get(r)).map((c) => c.at)) - burstStarted),
      ),
    }

    log("webhooks: baseline, the same signed requests POSTed directly")
    const requests = receivers.flatMap((receiver) =>
      receiver.received.slice(offsets.get(receiver)).map(({ headers, body }) => ({
        url: receiver.url,
        body,
        headers: Object.fromEntries(
          [
            "content-type",
            "user-agent",
            "webhook-id",
            "webhook-timestamp",
            "webhook-signature",
            "x-authsome-event",
          ].map((name) => [name, headers[name]]),
        ),
      })),
    )
    // interleaved by receiver, as the dispatcher meets them
    requests.sort((a, b) => a.headers["webhook-id"].localeCompare(b.headers["webhook-id"]))
    const before = received()
    const direct = await sendDirectly(requests)
    await waitUntil(() => received() >= before + requests.length, 60_000, "every baseline request")
    const baseline = {
      deliveries: requests.length,
      ms: direct.ms,
      eventsPerSecond: requests.length / 4 / (direct.ms / 1000),
      senderCpuMsPerDelivery: direct.cpuMs / requests.length,
    }

    // A backlog dispatched while the session check runs: deliveries queued in the table (as commits leave them),
    // due a moment after the load starts, many enough to keep the dispatcher busy throughout.
    const steady = { url: `${base}/session`, connections: 8, headers: auth, duration: seconds }
    log("webhooks: session check alone")
    const sessionAlone = await load(steady)
    const backlog = Math.round((events * 4 * 1000 * seconds) / deliveredMs) + 1000
    await queueBacklog(databaseUrl, hooks, backlog, new Date(Date.now() + 1000), "backlog")
    const beforeBacklog = received()
    log(`webhooks: session check while ${backlog} queued deliveries are dispatched`)
    const sessionDuring = await load(steady)
    const deliveredDuring = received() - beforeBacklog
    return {
      api,
      authsome,
      baseline,
      ratio: authsome.eventsPerSecond / baseline.eventsPerSecond,
      sessionAlone,
      sessionDuring,
      deliveredDuringSessionLoad: deliveredDuring,
    }
  } finally {
    await Promise.all(receivers.map((r) => r.close()))
  }
}

/**
 * Inserts `count` pending deliveries for the webhooks, copies of the newest delivered one, due at `dueAt`; resolves
 * with the time of the commit.
 */
const queueBacklog = async (databaseUrl, hooks, count, dueAt, label) => {
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  try {
    await client.query(
      `INSERT INTO authsome_webhook_deliveries
         (id, app_id, webhook_id, event_id, event_type, payload, status, attempts, next_attempt_at, created_at, updated_at)
       SELECT 'awhd_' || $4 || lpad(n::text, 26 - length($4), '0'), d.app_id, ($1::text[])[1 + n % array_length($1::text[], 1)],
              d.event_id, d.event_type, d.payload, 'pending', 0, $3, now(), now()
       FROM generate_series(1, $2) AS n,
            (SELECT * FROM authsome_webhook_deliveries ORDER BY id DESC LIMIT 1) AS d`,
      [hooks, count, dueAt, label],
    )
    return performance.now()
  } finally {
    await client.end()
  }
}

export const reportRows = (w) => [
  [
    "webhook delivery events/s (4 receivers, 1 slow)",
    w.authsome.eventsPerSecond.toFixed(0),
    w.baseline.eventsPerSecond.toFixed(0),
    w.ratio.toFixed(2),
    ">= 0.50 x direct POSTs",
    w.ratio >= 0.5,
  ],
  [
    "session p99 (8 conns) while webhooks dispatch ms",
    String(w.sessionDuring.p99),
    `${w.sessionAlone.p99} (alone)`,
    "",
    "about unchanged",
    w.sessionDuring.p99 <= Math.max(2 * w.sessionAlone.p99, w.sessionAlone.p99 + 5),
  ],
]

// --- standalone ----------------------------------------------------------------------------------------------------

const standalone = async () => {
  log("building")
  if (!process.env.NO_BUILD) execFileSync("npm", ["run", "--silent", "build"], { cwd: root, stdio: "inherit" })
  const db = await createDatabase()
  const port = await freePort()
  const server = await startAuthsome(db.url, port)
  try {
    const base = `http://127.0.0.1:${port}/v1/auth`
    const signup = await post(`${base}/signup`, { email: "bench@example.com", password })
    const result = await webhooksBench({
      base,
      token: signup.body.session_token,
      databaseUrl: db.url,
      serverPid: server.child.pid,
      load,
      seconds,
      log,
    })
    console.log(JSON.stringify(result, null, 2))
    for (const row of reportRows(result)) console.log(row.map(String).join("  |  "))
  } finally {
    await server.stop()
    await db.drop()
  }
}

if (process.argv[2] === "--send") sender()
else if (process.argv[1] === fileURLToPath(import.meta.url)) await standalone()
