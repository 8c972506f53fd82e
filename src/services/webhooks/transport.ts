/**
 * One webhook POST to an address the SSRF guard checked: a new connection goes to that address (the host name is only
 * the `Host` header and the TLS server name), redirects are not followed (a 3xx is a failed attempt), and the whole
 * exchange has one deadline. Connections are kept alive between deliveries (`Connections`); a reused one was opened
 * to an address checked when it was opened.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage, type RequestOptions } from "node:http"
import { Agent as HttpsAgent, request as httpsRequest } from "node:https"
import type { LookupFunction } from "node:net"
import { Effect } from "effect"
import type { CheckedTarget } from "./targets.js"

export interface PostOutcome {
  /** The answer's status, or `null` when none came (connection failure, timeout). */
  readonly statusCode: number | null
  readonly durationMs: number
  /** Set unless the answer was 2xx. */
  readonly error: string | null
}

/** Answers every lookup with the checked address, so no second resolution can return another one. */
const pinnedLookup =
  (target: CheckedTarget): LookupFunction =>
  (_hostname, options, callback) => {
    if (options.all) {
      ;(callback as unknown as (e: null, all: ReadonlyArray<{ address: string; family: number }>) => void)(null, [
        { address: target.address, family: target.family },
      ])
    } else {
      callback(null, target.address, target.family)
    }
  }

/** Kept-alive connections to receivers, per host and port (closed idle after a few seconds). */
export interface Connections {
  readonly http: HttpAgent
  readonly https: HttpsAgent
}

/** Keeps up to `keep` idle connections per host and port: as many as deliveries in flight to one receiver. */
export const makeConnections = (keep = 16): Connections => {
  const options = { keepAlive: true, keepAliveMsecs: 1_000, maxFreeSockets: keep, timeout: 5_000 }
  return { http: new HttpAgent(options), https: new HttpsAgent(options) }
}

export const closeConnections = (connections: Connections) => {
  connections.http.destroy()
  connections.https.destroy()
}

/** A checked target's request options but the headers; made once per target, for the many deliveries to it. */
const endpoints = new WeakMap<CheckedTarget, RequestOptions>()
const endpointOf = (target: CheckedTarget, connections: Connections): RequestOptions => {
  const { url } = target
  const agent = url.protocol === "https:" ? connections.https : connections.http
  let endpoint = endpoints.get(target)
  if (endpoint?.agent !== agent) {
    endpoint = {
      method: "POST",
      protocol: url.protocol,
      hostname: url.hostname.replace(/^\[(.*)\]$/, "$1"),
      port: url.port === "" ? undefined : Number(url.port),
      path: `${url.pathname}${url.search}`,
      lookup: pinnedLookup(target),
      agent,
    }
    endpoints.set(target, endpoint)
  }
  return endpoint
}

/** The most of a response body read (and thrown away) before the connection is released. */
const maxBodyBytes = 64 * 1024

export const postSigned = (
  target: CheckedTarget,
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
  connections: Connections,
): Effect.Effect<PostOutcome> =>
  Effect.async<PostOutcome>((resume) => {
    const started = performance.now()
    const elapsed = () => Math.round(performance.now() - started)
    let settled = false
    const finish = (statusCode: number | null, error: string | null) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      resume(Effect.succeed({ statusCode, durationMs: elapsed(), error }))
    }
    const options: RequestOptions = {
      ...endpointOf(target, connections),
      headers: { ...headers, "content-length": String(Buffer.byteLength(body)) },
    }
    const onResponse = (response: IncomingMessage) => {
      const status = response.statusCode ?? 0
      let read = 0
      response.on("data", (chunk: Buffer) => {
        read += chunk.length
        if (read > maxBodyBytes) response.destroy()
      })
      const done = () =>
        finish(
          status,
          status >= 200 && status < 300
            ? null
            : `HTTP ${status}${status >= 300 && status < 400 ? " (redirects are not followed)" : ""}`,
        )
      response.on("end", done)
      response.on("close", done)
      response.on("error", done)
    }
    const req = options.protocol === "https:" ? httpsRequest(options, onResponse) : httpRequest(options, onResponse)
    const timer = setTimeout(() => {
      req.destroy()
      finish(null, `no answer within ${timeoutMs} ms`)
    }, timeoutMs)
    req.on("error", (error: NodeJS.ErrnoException) => finish(null, `connection failed: ${error.code ?? error.message}`))
    req.end(body)
    return Effect.sync(() => {
      settled = true
      clearTimeout(timer)
      req.destroy()
    })
  })
