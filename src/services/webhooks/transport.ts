/**
 * One webhook POST to an address the SSRF guard checked: the connection goes to that address (the host name is only
 * the `Host` header and the TLS server name, against which the certificate is verified), redirects are not followed
 * (a 3xx is a failed attempt), and the whole exchange has one deadline. Connections are kept alive between
 * deliveries, per checked address (`Connections`), so a reused one goes to an address checked when it was opened.
 *
 * The client is undici's dispatcher (its low-level `dispatch`, no response streams): in a burst the HTTP client is a
 * large part of a delivery's CPU, and undici's costs half of `node:http`'s. It is loaded at the first delivery, so a
 * server that sends none never loads it.
 */
import type { SecureContextOptions } from "node:tls"
import { Effect } from "effect"
import type { Agent, Dispatcher } from "undici"
import type { CheckedTarget } from "./targets.js"

export interface PostOutcome {
  /** The answer's status, or `null` when none came (connection failure, timeout). */
  readonly statusCode: number | null
  readonly durationMs: number
  /** Set unless the answer was 2xx. */
  readonly error: string | null
}

/** Kept-alive connections to receivers (closed idle after a few seconds), made at the first delivery. */
export interface Connections {
  readonly agent: () => Effect.Effect<Agent>
  readonly close: () => Promise<void>
}

/**
 * Up to `keep` connections per receiver address: as many as deliveries in flight to one receiver. `tls.ca` replaces
 * the trusted certificate authorities (tests); without it, Node's bundled ones are trusted.
 */
export const makeConnections = (keep = 16, tls: Pick<SecureContextOptions, "ca"> = {}): Connections => {
  let agent: Agent | undefined
  // Bundled, the CommonJS module is only the default export; imported by Node, its exports are also named.
  const load = Effect.promise(() => import("undici").then((undici) => undici.Agent ?? undici.default.Agent)).pipe(
    Effect.map((Agent) => {
      agent ??= new Agent({
        connections: keep,
        keepAliveTimeout: 5_000,
        connect: { ...tls, timeout: 10_000 },
      })
      return agent
    }),
  )
  return {
    agent: () => (agent === undefined ? load : Effect.succeed(agent)),
    close: () => agent?.destroy() ?? Promise.resolve(),
  }
}

/** The origin a checked target's deliveries connect to: its scheme, the checked address and its port. */
const originOf = ({ url, address, family }: CheckedTarget): string =>
  `${url.protocol}//${family === 6 ? `[${address}]` : address}${url.port === "" ? "" : `:${url.port}`}`

/** The most of a response body read (and thrown away) before the connection is dropped. */
const maxBodyBytes = 64 * 1024

const failureOf = (status: number) =>
  status >= 200 && status < 300
    ? null
    : `HTTP ${status}${status >= 300 && status < 400 ? " (redirects are not followed)" : ""}`

const connectionFailure = (error: Error & { code?: string }) => `connection failed: ${error.code ?? error.message}`

export const postSigned = (
  target: CheckedTarget,
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
  connections: Connections,
): Effect.Effect<PostOutcome> =>
  Effect.flatMap(connections.agent(), (agent) =>
    Effect.async<PostOutcome>((resume) => {
      const started = performance.now()
      let settled = false
      let controller: Dispatcher.DispatchController | undefined
      let status: number | null = null
      let read = 0
      const finish = (statusCode: number | null, error: string | null) => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        resume(Effect.succeed({ statusCode, durationMs: Math.round(performance.now() - started), error }))
      }
      // undici reports an abort at once (`onResponseError`) and closes the connection after: the outcome is told once
      // it is closed, since telling it may start the next attempt to the same receiver.
      let aborting = false
      const abortThenFinish = (
        request: Dispatcher.DispatchController | undefined,
        reason: string,
        statusCode: number | null,
        error: string | null,
      ) => {
        aborting = true
        request?.abort(new Error(reason))
        finish(statusCode, error)
      }
      const timer = setTimeout(() => {
        const error = `no answer within ${timeoutMs} ms`
        abortThenFinish(controller, error, null, error)
      }, timeoutMs)
      try {
        agent.dispatch(
          {
            origin: originOf(target),
            path: `${target.url.pathname}${target.url.search}`,
            method: "POST",
            headers: { ...headers, host: target.url.host },
            body,
          },
          {
            onRequestStart: (request) => {
              controller = request
              // timed out or interrupted while undici still held it back
              if (settled) request.abort(new Error("given up"))
            },
            onResponseStart: (_controller, statusCode) => {
              status = statusCode
            },
            onResponseData: (response, chunk) => {
              read += chunk.length
              // The answer is known; a receiver sending more than this only loses its connection.
              if (read > maxBodyBytes) {
                abortThenFinish(response, "response body too large", status, failureOf(status ?? 0))
              }
            },
            onResponseEnd: () => finish(status, failureOf(status ?? 0)),
            onResponseError: (_controller, error) => {
              if (aborting) return
              if (status === null) finish(null, connectionFailure(error))
              else finish(status, failureOf(status))
            },
          },
        )
      } catch (error) {
        // undici checks the request as it takes it (a header value it refuses, say)
        finish(null, `request refused: ${(error as Error).message}`)
      }
      return Effect.sync(() => {
        settled = true
        clearTimeout(timer)
        controller?.abort(new Error("interrupted"))
      })
    }),
  )
