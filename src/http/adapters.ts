/**
 * Converting servers' requests and responses to and from the pipeline's (`message.ts`): node:http, web-standard
 * `Request`/`Response`, and `@effect/platform`.
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http"
import type { Duplex } from "node:stream"
import { HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect, Option, Runtime } from "effect"
import { InvalidRequest, PayloadTooLarge } from "../domain/errors.js"
import { type ApiRequest, type ApiResponse, parseCookies, serializeCookie } from "./message.js"

/** Reads a Node body up to `limit`; past it the rest is drained and dropped, so the 413 still reaches the client. */
const readNodeBody = (source: IncomingMessage, limit: number) =>
  Effect.async<string, PayloadTooLarge | InvalidRequest>((resume) => {
    const declared = Number(source.headers["content-length"] ?? "0")
    if (declared > limit) return resume(Effect.fail(new PayloadTooLarge()))
    if (source.readableEnded) return resume(Effect.succeed(""))
    const chunks: Array<Buffer> = []
    let size = 0
    let done = false
    const finish = (result: Effect.Effect<string, PayloadTooLarge | InvalidRequest>) => {
      if (done) return
      done = true
      resume(result)
    }
    source.on("data", (chunk: Buffer) => {
      if (done) return
      size += chunk.length
      if (size > limit) {
        chunks.length = 0
        finish(Effect.fail(new PayloadTooLarge()))
      } else chunks.push(chunk)
    })
    source.once("end", () => finish(Effect.sync(() => Buffer.concat(chunks).toString("utf8"))))
    source.once("error", () => finish(Effect.fail(new InvalidRequest({ message: "could not read the request body" }))))
  })

/**
 * A Node request whose body a framework may already have read and parsed into `body` (Express's `express.json()`;
 * body-parser 1 also sets `_body`).
 */
interface ParsedNodeRequest extends IncomingMessage {
  readonly _body?: boolean
  readonly body?: unknown
}

class NodeRequest implements ApiRequest {
  private parsedCookies: Record<string, string> | undefined
  constructor(
    readonly source: ParsedNodeRequest,
    readonly url: string,
    readonly mountPath: string | undefined,
  ) {}
  get method() {
    return this.source.method ?? "GET"
  }
  get headers() {
    return this.source.headers as Record<string, string | undefined>
  }
  get cookies() {
    this.parsedCookies ??= parseCookies(this.source.headers.cookie)
    return this.parsedCookies
  }
  get remoteAddress() {
    return this.source.socket.remoteAddress
  }
  get directlySecure() {
    return (this.source.socket as { encrypted?: boolean }).encrypted === true
  }
  text(limit: number) {
    if ((this.source._body === true || this.source.readableEnded) && "body" in this.source) {
      // Already read and parsed by the host's body parser: its JSON text again (a text parser leaves a string).
      const body = this.source.body
      const text = typeof body === "string" ? body : body === undefined ? "" : JSON.stringify(body)
      return Buffer.byteLength(text) > limit ? Effect.fail(new PayloadTooLarge()) : Effect.succeed(text)
    }
    return readNodeBody(this.source, limit)
  }
}

const fromNode = (source: IncomingMessage, url = source.url ?? "/", mountPath?: string): ApiRequest =>
  new NodeRequest(source, url, mountPath)

/**
 * Every header in one `writeHead` (merged over any a host set with `setHeader` before): `setHeader` would store,
 * lower-case and validate each one first, on every response.
 */
const writeNode = (target: ServerResponse, response: ApiResponse) => {
  const headers: OutgoingHttpHeaders = { ...response.headers }
  if (response.cookies.length > 0) headers["set-cookie"] = response.cookies.map(serializeCookie)
  if (response.body !== undefined) headers["content-length"] = Buffer.byteLength(response.body)
  target.writeHead(response.status, headers)
  target.end(response.body)
}

/**
 * node:http's `clientError` listener: what Node rejects before any handler runs (headers over its limit, a request
 * it cannot parse) is answered with the error envelope and the security headers instead of a bare status line.
 * The standalone server installs it; a host serving the Node handler can too (`server.on("clientError", ...)`).
 */
export const answerClientError = (error: Error & { readonly code?: string }, socket: Duplex) => {
  if (error.code === "ECONNRESET" || !socket.writable) return void socket.destroy()
  const [status, reason, type, message] =
    error.code === "HPE_HEADER_OVERFLOW"
      ? [431, "Request Header Fields Too Large", "headers_too_large", "request headers too large"]
      : error.code === "ERR_HTTP_REQUEST_TIMEOUT"
        ? [408, "Request Timeout", "request_timeout", "request timed out"]
        : [400, "Bad Request", "invalid_request", "malformed HTTP request"]
  const body = JSON.stringify({ error: message, code: status, type })
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\n` +
      "content-type: application/json\r\n" +
      `content-length: ${Buffer.byteLength(body)}\r\n` +
      "x-content-type-options: nosniff\r\nx-frame-options: DENY\r\n" +
      "referrer-policy: strict-origin-when-cross-origin\r\ncache-control: no-store\r\n" +
      `connection: close\r\n\r\n${body}`,
  )
}

/** A Node `(req, res)` handler running `handle` on `runtime`; a client that goes away interrupts its request. */
export const toNodeHandler =
  <R>(runtime: Runtime.Runtime<R>, handle: (request: ApiRequest) => Effect.Effect<ApiResponse, never, R>) =>
  (request: IncomingMessage, response: ServerResponse, url?: string, mountPath?: string) => {
    const fiber = Runtime.runFork(runtime)(handle(fromNode(request, url, mountPath)))
    fiber.addObserver((exit) => {
      if (exit._tag === "Success") writeNode(response, exit.value)
      else if (!response.headersSent) {
        response.statusCode = 500
        response.end()
      }
    })
    response.on("close", () => {
      if (!response.writableEnded) fiber.unsafeInterruptAsFork(fiber.id())
    })
  }

const webRequest = (request: Request, remoteAddress: string | undefined): ApiRequest => {
  const url = new URL(request.url)
  const headers: Record<string, string> = {}
  request.headers.forEach((value, name) => {
    headers[name] = value
  })
  return {
    method: request.method,
    url: `${url.pathname}${url.search}`,
    headers,
    cookies: parseCookies(headers["cookie"]),
    remoteAddress,
    directlySecure: url.protocol === "https:",
    text: (limit) =>
      Number(headers["content-length"] ?? "0") > limit
        ? Effect.fail(new PayloadTooLarge())
        : Effect.tryPromise({
            try: () => request.text(),
            catch: () => new InvalidRequest({ message: "could not read the request body" }),
          }).pipe(
            Effect.filterOrFail(
              (text) => Buffer.byteLength(text) <= limit,
              () => new PayloadTooLarge(),
            ),
          ),
  }
}

export const fromWeb = (request: Request): ApiRequest => webRequest(request, undefined)

export const toWeb = (response: ApiResponse): Response => {
  const headers = new Headers(response.headers)
  for (const cookie of response.cookies) headers.append("set-cookie", serializeCookie(cookie))
  return new Response(response.body ?? null, { status: response.status, headers })
}

/** The pipeline's view of an `@effect/platform` request (a Node or web request underneath). */
export const fromPlatform = (request: HttpServerRequest.HttpServerRequest): ApiRequest => {
  const remoteAddress = Option.getOrUndefined(request.remoteAddress)
  const source = request.source
  // `HttpRouter.mountApp(prefix, app)` hands the app the rest of the path; the prefix is where it was mounted.
  const path = request.url.split("?", 1)[0]!
  const original = request.originalUrl.split("?", 1)[0]!
  const mountPath =
    original !== path && original.endsWith(path) ? original.slice(0, original.length - path.length) : undefined
  if (typeof Request !== "undefined" && source instanceof Request) {
    return { ...webRequest(source, remoteAddress), url: request.url, mountPath }
  }
  const node = source as IncomingMessage
  return {
    method: request.method,
    url: request.url,
    mountPath,
    headers: request.headers,
    get cookies() {
      return request.cookies
    },
    remoteAddress,
    directlySecure: (node?.socket as { encrypted?: boolean } | undefined)?.encrypted === true,
    text: (limit) =>
      node && typeof node.on === "function"
        ? readNodeBody(node, limit)
        : request.text.pipe(
            Effect.mapError(() => new InvalidRequest({ message: "could not read the request body" })),
            Effect.filterOrFail(
              (text) => Buffer.byteLength(text) <= limit,
              () => new PayloadTooLarge(),
            ),
          ),
  }
}

export const toPlatform = (response: ApiResponse): HttpServerResponse.HttpServerResponse => {
  let result =
    response.body === undefined
      ? HttpServerResponse.empty({ status: response.status, headers: response.headers })
      : HttpServerResponse.text(response.body, {
          status: response.status,
          headers: response.headers,
          contentType: response.headers["content-type"] ?? "application/json",
        })
  for (const cookie of response.cookies) {
    result = HttpServerResponse.unsafeSetCookie(result, cookie.name, cookie.value, {
      ...cookie.options,
      maxAge: `${cookie.options.maxAge} seconds`,
    })
  }
  return result
}

/** An `@effect/platform` HttpApp serving `handle`. */
export const toHttpApp = <R>(handle: (request: ApiRequest) => Effect.Effect<ApiResponse, never, R>) =>
  Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
    Effect.map(handle(fromPlatform(request)), toPlatform),
  )
