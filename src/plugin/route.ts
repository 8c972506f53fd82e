/**
 * Route definitions: one value per endpoint holding its method, path, schemas and handler. The pipeline serves them
 * and the OpenAPI document is generated from the same values, so the two cannot drift. Core routes and plugin
 * routes are written alike.
 */
import type { Effect, Schema } from "effect"
import type * as M from "../domain/models.js"
import { type PermissionName, parsePermission } from "../domain/permissions.js"
import type { ApiRequest, ApiResponse } from "../http/message.js"
import type { Decision } from "../services/authorization.js"
import type { ClientContext } from "../services/context.js"
import type { TaggedFailure } from "./errors.js"

export type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE"

/** A request authenticated by a session token. */
export interface SessionAuthenticated {
  readonly user: M.User
  readonly session: M.Session
  readonly apiKey: null
  /** How the session token arrived; only cookie-authenticated unsafe requests are subject to the CSRF rule. */
  readonly via: "bearer" | "cookie"
  /** The caller's own permission check a route asked for with `callerPermission`, decided with the session lookup. */
  readonly permission?: Decision
}

/** A request authenticated by an API key (`Authorization: Bearer sk_...` or `X-API-Key`): it acts as the key's user. */
export interface ApiKeyAuthenticated {
  readonly user: M.User
  readonly session: null
  /** The key, with its `scopes` (none: everything its user may do; some: only the routes they cover). */
  readonly apiKey: M.ApiKey
  readonly via: "api_key"
}

export type Authenticated = SessionAuthenticated | ApiKeyAuthenticated

/** A permission `resource:action`, e.g. `role:*` or `role:read`. */
export type PermissionString = `${string}:${string}`

export interface RouteRequest<B> {
  readonly raw: ApiRequest
  readonly params: Readonly<Record<string, string>>
  readonly query: URLSearchParams
  readonly body: B
  readonly client: ClientContext
  /** True when the client talks HTTPS to us (directly, or via a trusted proxy's `X-Forwarded-Proto`). */
  readonly secure: boolean
  /** The path this request's routes are under (`basePath`, or where the host mounted the handler): cookie paths. */
  readonly basePath: string
  /** Headers to add to whatever response the handler produces (rate-limit state). */
  readonly headers: Record<string, string>
}

export interface SessionRouteRequest<B> extends RouteRequest<B> {
  readonly auth: Authenticated
}

/** The request of a route declared `credentials: "session"`: never an API key. */
export interface SessionOnlyRouteRequest<B> extends RouteRequest<B> {
  readonly auth: SessionAuthenticated
}

export interface ResponseSpec {
  readonly description: string
  readonly schema?: Schema.Schema.Any
}

/** A query parameter the route reads (documented in the OpenAPI document; the handler parses it). */
export interface QueryParameter {
  readonly name: string
  readonly description: string
}

interface RouteSpec<B, Req> {
  readonly method: Method
  readonly path: string
  readonly summary: string
  readonly tag: string
  readonly description?: string
  readonly body?: Schema.Schema<B, any>
  /**
   * Served without resolving the app (no database read before the handler): `/health` must answer while the
   * database is down. The handler must not read `client`.
   */
  readonly tenantless?: boolean
  readonly query?: ReadonlyArray<QueryParameter>
  /** Left out of the OpenAPI document (the reference page's assets). */
  readonly undocumented?: boolean
  /** Success responses by status; error responses are documented from the error declarations. */
  readonly responses: Readonly<Record<number, ResponseSpec>>
  readonly handler: (request: Req) => Effect.Effect<ApiResponse, TaggedFailure>
}

interface AuthenticatedRouteSpec<B, Req> extends RouteSpec<B, Req> {
  /**
   * The app-wide permission the caller needs, checked by the pipeline (through `Authorization`) before the body is
   * read: 403 `forbidden` without it. An API key needs it in its scopes too.
   */
  readonly requires?: PermissionString
  /**
   * `"session"`: only a session authenticates (the route acts on the current session, or manages credentials), an
   * API key gets 403. Default: a session or an API key.
   */
  readonly credentials?: "session" | "any"
  /**
   * The permission the handler checks for the caller itself, from the decoded body (undefined: none, e.g. the body
   * asks about someone else). When a session authenticates, the pipeline reads the body before the session and
   * decides the permission with the session lookup, in one round trip; the decision is `auth.permission`. An API
   * key, or no decision, leaves the check to the handler. Failures keep their order: credentials, then the body.
   */
  readonly callerPermission?: (body: B) => CallerPermission | undefined
}

/** A permission in the app of the request, with the caller's roles in `orgId` too when it is given. */
export interface CallerPermission {
  readonly resource: string
  readonly action: string
  readonly orgId: M.Organization["id"] | null
}

export interface Route {
  readonly method: Method
  readonly path: string
  readonly summary: string
  readonly tag: string
  readonly description: string | undefined
  readonly auth: "none" | "session"
  /** Whether an API key authenticates here (a session always does). */
  readonly apiKeys: boolean
  /** The app-wide permission the pipeline checks before the handler runs. */
  readonly requires: PermissionName | undefined
  readonly callerPermission: ((body: unknown) => CallerPermission | undefined) | undefined
  readonly tenantless: boolean
  readonly body: Schema.Schema<unknown, unknown> | undefined
  readonly query: ReadonlyArray<QueryParameter>
  readonly undocumented: boolean
  readonly responses: Readonly<Record<number, ResponseSpec>>
  readonly handler: (request: SessionRouteRequest<unknown>) => Effect.Effect<ApiResponse, TaggedFailure>
}

const requirement = (requires: PermissionString | undefined) => {
  if (requires === undefined) return undefined
  const parsed = parsePermission(requires)
  if (parsed === undefined) throw new Error(`invalid permission "${requires}" (expected resource:action)`)
  return parsed
}

const erase = <B, Req>(spec: AuthenticatedRouteSpec<B, Req>, auth: Route["auth"]): Route => ({
  method: spec.method,
  path: spec.path,
  summary: spec.summary,
  tag: spec.tag,
  description: spec.description,
  auth,
  apiKeys: auth === "session" && spec.credentials !== "session",
  requires: requirement(spec.requires),
  callerPermission: spec.callerPermission as Route["callerPermission"],
  tenantless: spec.tenantless ?? false,
  body: spec.body as Schema.Schema<unknown, unknown> | undefined,
  query: spec.query ?? [],
  undocumented: spec.undocumented ?? false,
  responses: spec.responses,
  handler: spec.handler as unknown as Route["handler"],
})

/** An endpoint anyone may call. */
export const publicRoute = <B = undefined>(spec: RouteSpec<B, RouteRequest<B>>): Route => erase(spec, "none")

/**
 * An endpoint for a signed-in caller: a session (bearer token or session cookie) or, unless the route says
 * `credentials: "session"`, an API key. `requires` adds a permission check.
 */
export function sessionRoute<B = undefined>(
  spec: AuthenticatedRouteSpec<B, SessionOnlyRouteRequest<B>> & { readonly credentials: "session" },
): Route
export function sessionRoute<B = undefined>(spec: AuthenticatedRouteSpec<B, SessionRouteRequest<B>>): Route
export function sessionRoute<B>(spec: AuthenticatedRouteSpec<B, any>): Route {
  return erase(spec, "session")
}
