/**
 * A real webhook receiver: node:http on 127.0.0.1 that verifies every call with the `standardwebhooks` package
 * (the library receivers use) and records it. Its answer is up to the test (`respond`).
 */
import { createServer, type IncomingMessage, type Server } from "node:http"
import { Webhook } from "standardwebhooks"

export interface ReceivedCall {
  readonly id: string
  readonly host: string | undefined
  readonly timestamp: string
  readonly eventHeader: string | undefined
  readonly body: string
  /** The verified payload, or `undefined` when the signature did not verify. */
  readonly payload:
    | { id: string; type: string; created_at: string; app_id: string; env_id: string; data: any }
    | undefined
  readonly answered: number
}

export interface Receiver {
  readonly url: string
  readonly port: number
  readonly calls: Array<ReceivedCall>
  /** The secret the calls are verified with (set once the webhook is made). */
  secret: string | undefined
  /** The status to answer a call with (default 204), after an optional delay. */
  respond: (call: { id: string; count: number }) => number | Promise<number>
  /** The verified calls of one event type. */
  readonly ofType: (type: string) => Array<ReceivedCall>
  /** Waits until `predicate` holds for the calls (polling), or fails after `timeoutMs`. */
  readonly waitFor: (predicate: (calls: Array<ReceivedCall>) => boolean, timeoutMs?: number) => Promise<void>
  readonly close: () => Promise<void>
}

const readBody = (request: IncomingMessage) =>
  new Promise<string>((resolve, reject) => {
    const chunks: Array<Buffer> = []
    request.on("data", (chunk: Buffer) => chunks.push(chunk))
    request.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")))
    request.on("error", reject)
  })

export const startReceiver = async (path = "/hook"): Promise<Receiver> => {
  const counts = new Map<string, number>()
  const receiver: Receiver = {
    url: "",
    port: 0,
    calls: [],
    secret: undefined,
    respond: () => 204,
    ofType: (type) => receiver.calls.filter((call) => call.payload?.type === type),
    waitFor: async (predicate, timeoutMs = 10_000) => {
      const deadline = Date.now() + timeoutMs
      while (!predicate(receiver.calls)) {
        if (Date.now() > deadline) {
          const seen = receiver.calls.map((call) => `${call.payload?.type ?? "unverified"}:${call.answered}`)
          throw new Error(`the receiver did not get what was expected in ${timeoutMs} ms (got ${seen.join(", ")})`)
        }
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
  const server: Server = createServer(async (request, response) => {
    const body = await readBody(request)
    const headers: Record<string, string> = {}
    for (const [name, value] of Object.entries(request.headers)) if (typeof value === "string") headers[name] = value
    let payload: ReceivedCall["payload"]
    try {
      payload = receiver.secret
        ? (new Webhook(receiver.secret).verify(body, headers) as ReceivedCall["payload"])
        : undefined
    } catch {
      payload = undefined
    }
    const id = headers["webhook-id"] ?? ""
    const count = (counts.get(id) ?? 0) + 1
    counts.set(id, count)
    const status = await receiver.respond({ id, count })
    receiver.calls.push({
      id,
      host: headers["host"],
      timestamp: headers["webhook-timestamp"] ?? "",
      eventHeader: headers["x-authsome-event"],
      body,
      payload,
      answered: status,
    })
    response.writeHead(status).end()
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const address = server.address()
  const port = typeof address === "object" && address !== null ? address.port : 0
  Object.assign(receiver, { port, url: `http://127.0.0.1:${port}${path}` })
  return receiver
}
