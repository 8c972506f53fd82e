/**
 * The request pipeline shared by every mount (Effect server, web `Request → Response`, Node `(req, res)`):
 * routing under the base path, tenant and client resolution, authentication, the CSRF origin rule, body limits and
 * decoding, CORS, security headers, the error envelope and one log line per request.
 */
import { randomUUID } from "node:crypto"
import { Cause, Clock, Effect, ParseResult, Schema } from "effect"
import type { ResolvedConfig } from "../config.js"
import { Forbidden, InvalidRequest, Unauthorized, UnsupportedMediaType } from "../domain/errors.js"
import type { TaggedFailure } from "../plugin/errors.js"
import type { Authenticated, Route, SessionAuthenticated, SessionRouteRequest } from "../plugin/route.js"
import { type ApiKeys, isApiKeyToken } from "../services/api-keys.js"
import { type Authorization, decisionOf } from "../services/authorization.js"
import type { ClientContext } from "../services/context.js"
import type { RequestActivity } from "../services/request-activity.js"
import type { Sessions } from "../services/sessions.js"
import type { Tenancy } from "../services/tenancy.js"
import { clientAddress, makeProxyMatcher } from "./client-ip.js"
import { cookieNames } from "./cookies.js"
import { type makeErrorResponder, notFoundResponse } from "./errors.js"
import { type ApiRequest, type ApiResponse, empty, withHeaders } from "./message.js"
import { inspectJson } from "./json-input.js"
import { makeOriginPolicy } from "./origin.js"

/** One line per request, written by the host (the standalone server writes it itself, cheaply). */
export interface RequestLogEntry {
  /** The client's `X-Request-Id` when it is a plain token, else a fresh UUID; echoed in the response. */
  readonly request_id: string
  readonly method: string
  readonly route: string
  readonly status: number
  readonly duration_ms: number
  readonly ip: string | null
  /** The authenticated user, on routes that authenticate. */
  readonly user_id: string | null
}

/** What the pipeline learns of a request on its way (for its log line). */
interface RequestTrace {
  ip: string | null
  userId: string | null
}

interface AuthAndBody {
  readonly auth: Authenticated | undefined
  readonly body: unknown
}

const requestIdPattern = /^[A-Za-z0-9._:-]{1,128}$/

const maxBodyBytes = 64 * 1024

const unsafeMethods = new Set(["POST", "PUT", "PATCH", "DELETE"])

interface CompiledRoute {
  readonly route: Route
  readonly segments: ReadonlyArray<string>
}

/** Segment-wise matching; literal segments are preferred over parameters (`/sessions/revoke-others`). */
const compile = (routes: ReadonlyArray<Route>) => {
  const compiled: Array<CompiledRoute> = routes.map((route) => ({
    route,
    segments: route.path.split("/").filter((s) => s !== ""),
  }))
  const specificity = (r: CompiledRoute) => r.segments.filter((s) => !s.startsWith(":")).length
  compiled.sort((a, b) => specificity(b) - specificity(a))
  return (method: string, path: string) => {
    const parts = path.split("/").filter((s) => s !== "")
    for (const candidate of compiled) {
      if (candidate.route.method !== method || candidate.segments.length !== parts.length) continue
      const params: Record<string, string> = {}
      let ok = true
      for (let i = 0; i < parts.length; i++) {
        const segment = candidate.segments[i]!
        const part = parts[i]!
        if (segment.startsWith(":")) {
          try {
            params[segment.slice(1)] = decodeURIComponent(part)
          } catch {
            ok = false
            break
          }
        } else if (segment !== part) {
          ok = false
          break
        }
      }
      if (ok) return { route: candidate.route, params }
    }
    return undefined
  }
}

const securityHeaders = {
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "strict-origin-when-cross-origin",
  "cache-control": "no-store",
} as const

const preflightHeaders = {
  "access-control-allow-methods": "GET, POST, PUT, PATCH, DELETE, OPTIONS",
  "access-control-allow-headers": "content-type, authorization, x-publishable-key, x-api-key",
  "access-control-max-age": "600",
} as const

const isJson = (contentType: string | undefined) => {
  if (!contentType) return false
  const media = contentType.split(";")[0]!.trim().toLowerCase()
  return media === "application/json" || (media.startsWith("application/") && media.endsWith("+json"))
}

/** Each problem with its path; messages keep what was expected and drop the submitted value (a password, say). */
const describeIssues = (error: ParseResult.ParseError) =>
  ParseResult.ArrayFormatter.formatErrorSync(error).map((issue) => ({
    path: issue.path.map(String).join("."),
    message: issue.message.split(", actual ", 1)[0]!,
  }))

/** `Bearer <token>` exactly: one space, a token68 (RFC 6750 §2.1), nothing after it. */
const bearerHeader = /^bearer ([A-Za-z0-9\-._~+/]+=*)$/i

export interface PipelineDeps {
  readonly config: ResolvedConfig
  readonly tenancy: Tenancy
  readonly sessions: Sessions
  readonly apiKeys: ApiKeys
  readonly authorization: Authorization
  /** Counts the requests (the webhook dispatcher yields to them); absent, nothing is counted. */
  readonly activity?: RequestActivity | undefined
  readonly errors: ReturnType<typeof makeErrorResponder>
  /** Receives one entry per request; default: `Effect.logInfo("request")` with the entry as annotations. */
  readonly requestLog?: ((entry: RequestLogEntry) => void) | undefined
}

export const makePipeline = (routes: ReadonlyArray<Route>, deps: PipelineDeps) => {
  const { config, tenancy, sessions, apiKeys, authorization, activity, errors, requestLog } = deps
  const match = compile(routes)
  const isTrustedProxy = makeProxyMatcher(config.trustedProxies)
  const { ensureSameOrigin, corsHeaders } = makeOriginPolicy(config)
  const decoders = new Map(
    routes.flatMap((route) =>
      route.body ? [[route, Schema.decodeUnknown(route.body, { errors: "all", onExcessProperty: "ignore" })]] : [],
    ),
  )

  // A flatMap chain rather than a generator: every request with a body comes through here.
  const readBody = (request: ApiRequest, route: Route): Effect.Effect<unknown, TaggedFailure> => {
    const decode = decoders.get(route)
    if (decode === undefined) return Effect.succeed(undefined)
    return Effect.flatMap(request.text(maxBodyBytes), (text): Effect.Effect<unknown, TaggedFailure> => {
      let raw: unknown = {}
      if (text.trim() !== "") {
        if (!isJson(request.headers["content-type"])) return Effect.fail(new UnsupportedMediaType())
        try {
          raw = JSON.parse(text)
        } catch {
          return Effect.fail(new InvalidRequest({ message: "malformed JSON body" }))
        }
        const problem = inspectJson(raw)
        if (problem) return Effect.fail(new InvalidRequest({ message: "invalid request body", details: [problem] }))
      }
      return Effect.mapError(
        decode(raw),
        (error) => new InvalidRequest({ message: "invalid request body", details: describeIssues(error) }),
      )
    })
  }

  /** The body, with what authenticated the request (a route without a body reads nothing). */
  const withBody = (
    request: ApiRequest,
    route: Route,
    auth: Authenticated | undefined,
  ): Effect.Effect<AuthAndBody, TaggedFailure> =>
    decoders.has(route)
      ? Effect.map(readBody(request, route), (body) => ({ auth, body }))
      : Effect.succeed({ auth, body: undefined })

  /**
   * An API key acts as its user where the route accepts keys (a scoped key only where a route's `requires` is within
   * its scopes). Keys are never cookies, so CSRF does not apply.
   */
  const authenticateKey = (
    token: string,
    route: Route,
    client: ClientContext,
  ): Effect.Effect<Authenticated, TaggedFailure> =>
    Effect.flatMap(apiKeys.authenticate(token, client), ({ key, user }) => {
      if (!route.apiKeys) {
        return Effect.fail(new Forbidden({ message: "this route needs a signed-in session, not an API key" }))
      }
      const auth: Authenticated = { user, session: null, apiKey: key, via: "api_key" }
      // With `requires`, the pipeline checks the scopes with the permission.
      return route.requires === undefined
        ? Effect.as(authorization.ensureRoute(user, undefined, key.scopes), auth)
        : Effect.succeed(auth)
    })

  /** The credential a request carries: an API key, a session token (bearer or cookie), or a 401. */
  const credentialOf = (
    request: ApiRequest,
    secure: boolean,
  ):
    | { readonly apiKey: string }
    | { readonly sessionToken: string; readonly via: "bearer" | "cookie" }
    | { readonly failure: Unauthorized } => {
    const authorization = request.headers["authorization"]
    if (authorization !== undefined) {
      const bearer = bearerHeader.exec(authorization)
      if (bearer === null) return { failure: new Unauthorized({ message: "malformed authorization header" }) }
      const token = bearer[1]!
      return isApiKeyToken(token) ? { apiKey: token } : { sessionToken: token, via: "bearer" }
    }
    if (request.headers["x-api-key"] !== undefined) return { apiKey: request.headers["x-api-key"].trim() }
    const token = request.cookies[cookieNames(secure).session]
    return token
      ? { sessionToken: token, via: "cookie" }
      : { failure: new Unauthorized({ message: "missing credentials" }) }
  }

  /** A session token's lookup, behind the CSRF rule for cookie-authenticated unsafe requests. */
  const viaSession = (
    request: ApiRequest,
    via: "bearer" | "cookie",
    lookup: Effect.Effect<Pick<SessionAuthenticated, "session" | "user" | "permission">, TaggedFailure>,
  ): Effect.Effect<Authenticated, TaggedFailure> => {
    const validated = Effect.map(lookup, (found): Authenticated => ({ ...found, apiKey: null, via }))
    return via === "cookie" && unsafeMethods.has(request.method)
      ? Effect.zipLeft(validated, ensureSameOrigin(request))
      : validated
  }

  const authenticate = (
    request: ApiRequest,
    route: Route,
    client: ClientContext,
    secure: boolean,
  ): Effect.Effect<Authenticated, TaggedFailure> => {
    const credential = credentialOf(request, secure)
    if ("failure" in credential) return Effect.fail(credential.failure)
    if ("apiKey" in credential) return authenticateKey(credential.apiKey, route, client)
    return viaSession(request, credential.via, sessions.validate(credential.sessionToken, client))
  }

  /** Authentication, then the route's `requires` (the session check itself has none: nothing added to its path). */
  const authenticated = (request: ApiRequest, route: Route, client: ClientContext, secure: boolean) =>
    withRequirement(route, authenticate(request, route, client, secure))

  /** The usual order: authentication (and `requires`), then the body. */
  const authenticatedThenBody = (request: ApiRequest, route: Route, client: ClientContext, secure: boolean) =>
    Effect.flatMap(authenticated(request, route, client, secure), (auth) => withBody(request, route, auth))

  const withRequirement = (route: Route, auth: Effect.Effect<Authenticated, TaggedFailure>) => {
    const requires = route.requires
    return requires === undefined
      ? auth
      : Effect.flatMap(auth, (auth) =>
          Effect.as(authorization.ensureRoute(auth.user, requires, auth.apiKey?.scopes), auth),
        )
  }

  /**
   * A route with `callerPermission` and a session token: the body first (after a malformed or missing credential,
   * which fails first as everywhere), then the session with the caller's permission in one lookup. A body that
   * fails still lets an invalid session fail first.
   */
  const authenticatedWithBody = (
    request: ApiRequest,
    route: Route,
    client: ClientContext,
    secure: boolean,
    callerPermission: NonNullable<Route["callerPermission"]>,
  ): Effect.Effect<AuthAndBody, TaggedFailure> => {
    const credential = credentialOf(request, secure)
    if (!("sessionToken" in credential)) return authenticatedThenBody(request, route, client, secure)
    const { sessionToken, via } = credential
    return Effect.matchEffect(readBody(request, route), {
      onFailure: (failure) => Effect.zipRight(authenticated(request, route, client, secure), Effect.fail(failure)),
      onSuccess: (body) => {
        const permission = callerPermission(body)
        const lookup =
          permission === undefined
            ? sessions.validate(sessionToken, client)
            : Effect.map(sessions.validateWithPermission(sessionToken, client, permission), (found) => ({
                session: found.session,
                user: found.user,
                permission: decisionOf(found.grant),
              }))
        return Effect.map(withRequirement(route, viaSession(request, via, lookup)), (auth) => ({ auth, body }))
      },
    })
  }

  // The hot path is written as plain flatMap chains (not generators): every session check runs through it.
  const dispatch = (
    request: ApiRequest,
    route: Route,
    params: Record<string, string>,
    queryString: string,
    trace: RequestTrace,
  ) => {
    const address = clientAddress(
      isTrustedProxy,
      request.remoteAddress,
      request.headers["x-forwarded-for"],
      request.headers["x-forwarded-proto"],
      request.directlySecure,
    )
    trace.ip = address.ip
    const userAgent = request.headers["user-agent"]?.slice(0, 512) ?? null
    const tenant = route.tenantless ? Effect.succeed(undefined) : tenancy.resolve(request.headers["x-publishable-key"])
    return Effect.flatMap(tenant, (tenant) => {
      const client = { app: tenant?.app, env: tenant?.env, ip: address.ip, userAgent } as ClientContext
      const callerPermission = route.callerPermission
      const authAndBody: Effect.Effect<AuthAndBody, TaggedFailure> =
        route.auth !== "session"
          ? withBody(request, route, undefined)
          : callerPermission !== undefined
            ? authenticatedWithBody(request, route, client, address.secure, callerPermission)
            : authenticatedThenBody(request, route, client, address.secure)
      return Effect.flatMap(authAndBody, ({ auth, body }) => {
        if (auth !== undefined) trace.userId = auth.user.id
        const headers: Record<string, string> = {}
        const routeRequest: SessionRouteRequest<unknown> = {
          raw: request,
          params,
          get query() {
            return new URLSearchParams(queryString)
          },
          body,
          client,
          secure: address.secure,
          basePath: request.mountPath ?? config.basePath,
          headers,
          auth: auth as Authenticated,
        }
        return Effect.map(route.handler(routeRequest), (response) => withHeaders(response, headers))
      })
    })
  }

  const answerFailure = (cause: Cause.Cause<TaggedFailure>): Effect.Effect<ApiResponse> => {
    const failure = Cause.failureOption(cause)
    if (failure._tag === "Some")
      return Effect.flatMap(Clock.currentTimeMillis, (now) => errors.failure(failure.value, now))
    return Cause.isInterruptedOnly(cause) ? Effect.failCause(cause as Cause.Cause<never>) : errors.defect(cause)
  }

  const handle = (request: ApiRequest, trace: RequestTrace) => {
    const queryAt = request.url.indexOf("?")
    const fullPath = queryAt === -1 ? request.url : request.url.slice(0, queryAt)
    const mounted = request.mountPath !== undefined
    if (!mounted && fullPath !== config.basePath && !fullPath.startsWith(`${config.basePath}/`)) {
      return { response: Effect.succeed(notFoundResponse()), pattern: "unmatched" }
    }
    if (request.method === "OPTIONS") {
      const cors = corsHeaders(request)
      const headers = Object.keys(cors).length > 0 ? { ...cors, ...preflightHeaders } : {}
      return { response: Effect.succeed(empty(204, headers)), pattern: "preflight" }
    }
    // Every GET route answers HEAD: the same response without its body.
    const head = request.method === "HEAD"
    const matched = match(
      head ? "GET" : request.method,
      (mounted ? fullPath : fullPath.slice(config.basePath.length)) || "/",
    )
    if (matched === undefined) return { response: Effect.succeed(notFoundResponse()), pattern: "unmatched" }
    const queryString = queryAt === -1 ? "" : request.url.slice(queryAt + 1)
    const answered = dispatch(request, matched.route, matched.params, queryString, trace).pipe(
      Effect.catchAllCause(answerFailure),
    )
    const response = head ? Effect.map(answered, (result) => ({ ...result, body: undefined })) : answered
    return { response, pattern: matched.route.path }
  }

  /** Answers one request; never fails (every failure is an enveloped response). */
  const serve = (request: ApiRequest): Effect.Effect<ApiResponse> => {
    const started = performance.now()
    activity?.started()
    const given = request.headers["x-request-id"]
    const requestId = given !== undefined && requestIdPattern.test(given) ? given : randomUUID()
    const trace: RequestTrace = { ip: null, userId: null }
    const { response, pattern } = handle(request, trace)
    return Effect.flatMap(response, (result) => {
      const finished = withHeaders(result, {
        ...securityHeaders,
        ...corsHeaders(request),
        "x-request-id": requestId,
      })
      const entry: RequestLogEntry = {
        request_id: requestId,
        method: request.method,
        route: pattern === "unmatched" ? "unmatched" : `${request.mountPath ?? config.basePath}${pattern}`,
        status: finished.status,
        duration_ms: Math.round(performance.now() - started),
        ip: trace.ip,
        user_id: trace.userId,
      }
      if (requestLog) {
        requestLog(entry)
        return Effect.succeed(finished)
      }
      return Effect.as(Effect.logInfo("request").pipe(Effect.annotateLogs({ ...entry })), finished)
    })
  }

  return serve
}
