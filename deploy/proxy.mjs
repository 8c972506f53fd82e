// A tiny round-robin reverse proxy for the one-machine example (deploy/run.sh): no sticky sessions (every instance
// shares the database), X-Forwarded-For/-Proto set, and an instance whose /health fails (or that refuses connections)
// is skipped until it answers again. In production use your load balancer (nginx, HAProxy, a cloud LB) the same way.
//
//   node deploy/proxy.mjs 8080 http://127.0.0.1:8081 http://127.0.0.1:8082 ...
import { request, createServer } from "node:http"

const [listenPort, ...upstreams] = process.argv.slice(2)
if (!listenPort || upstreams.length === 0) {
  console.error("usage: node deploy/proxy.mjs <port> <upstream origin>...")
  process.exit(2)
}
const healthPath = process.env.AUTHSOME_HEALTH_PATH ?? "/v1/auth/health"
const targets = upstreams.map((origin) => ({ url: new URL(origin), healthy: true }))
let next = 0

const check = (target) => {
  const probe = request(new URL(healthPath, target.url), { timeout: 2_000 }, (response) => {
    target.healthy = response.statusCode === 200
    response.resume()
  })
  probe.on("timeout", () => probe.destroy())
  probe.on("error", () => {
    target.healthy = false
  })
  probe.end()
}
setInterval(() => targets.forEach(check), 1_000).unref()

const pick = () => {
  for (let tried = 0; tried < targets.length; tried++) {
    const target = targets[next++ % targets.length]
    if (target.healthy) return target
  }
  return targets[next++ % targets.length] // none known healthy: try anyway, the instance answers 503 itself
}

const server = createServer({ keepAliveTimeout: 5_000 }, (incoming, outgoing) => {
  const target = pick()
  const forwardedFor = [incoming.headers["x-forwarded-for"], incoming.socket.remoteAddress].filter(Boolean).join(", ")
  const upstream = request(
    {
      host: target.url.hostname,
      port: target.url.port,
      method: incoming.method,
      path: incoming.url,
      headers: { ...incoming.headers, "x-forwarded-for": forwardedFor, "x-forwarded-proto": "http" },
    },
    (response) => {
      outgoing.writeHead(response.statusCode ?? 502, response.headers)
      response.pipe(outgoing)
    },
  )
  upstream.on("error", () => {
    target.healthy = false
    if (!outgoing.headersSent) {
      outgoing.writeHead(503, { "content-type": "application/json", "retry-after": "1" })
      outgoing.end(JSON.stringify({ error: "service temporarily unavailable", code: 503, type: "unavailable" }))
    } else outgoing.destroy()
  })
  incoming.pipe(upstream)
})
server.listen(Number(listenPort), "127.0.0.1", () =>
  console.error(`proxy: http://127.0.0.1:${listenPort} -> ${upstreams.join(", ")}`),
)
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => server.close(() => process.exit(0)))
