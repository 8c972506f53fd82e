/**
 * Route definitions: one value per endpoint holding its method, path, schemas and handler. The pipeline serves them
 * and the OpenAPI document is generated from the same values, so the two cannot drift. Core routes and plugin
 * routes are written alike.
 */
import type { Effect, Schema } from "effect"
import type * as M from "../domain/models.js"
import type { ApiRequest, ApiResponse } from "../http/message.js"
import type { ClientContext } from "../services/context.js"
import type { TaggedFailure } from "./errors.js"

export type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE"

export interface Authenticated {
  readonly session: M.Session
  readonly user: M.User
  /** How the session token arrived; only cookie-authenticated unsafe requests are subject to the CSRF rule. */
  readonly via: "bearer" | "cookie"
}

export interface RouteRequest<B> {
  readonly raw: ApiRequest
  readonly params: Readonly<Record<string, string>>
  readonly query: URLSearchParams
  readonly body: B
  readonly client: ClientContext
  /** True when the client talks HTTPS to us (directly, or via a trusted proxy's `X-Forwarded-Proto`). */
  readonly secure: boolean
  /** Headers to add to whatever response the handler produces (rate-limit state). */
  readonly headers: Record<string, string>
}

export interface SessionRouteRequest<B> extends RouteRequest<B> {
  readonly auth: Authenticated
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

export interface Route {
  readonly method: Method
  readonly path: string
  readonly summary: string
  readonly tag: string
  readonly description: string | undefined
  readonly auth: "none" | "session"
  readonly tenantless: boolean
  readonly body: Schema.Schema<unknown, unknown> | undefined
  readonly query: ReadonlyArray<QueryParameter>
  readonly undocumented: boolean
  readonly responses: Readonly<Record<number, ResponseSpec>>
  readonly handler: (request: SessionRouteRequest<unknown>) => Effect.Effect<ApiResponse, TaggedFailure>
}

const erase = <B, Req>(spec: RouteSpec<B, Req>, auth: Route["auth"]): Route => ({
  method: spec.method,
  path: spec.path,
  summary: spec.summary,
  tag: spec.tag,
  description: spec.description,
  auth,
  tenantless: spec.tenantless ?? false,
  body: spec.body as Schema.Schema<unknown, unknown> | undefined,
  query: spec.query ?? [],
  undocumented: spec.undocumented ?? false,
  responses: spec.responses,
  handler: spec.handler as unknown as Route["handler"],
})

/** An endpoint anyone may call. */
export const publicRoute = <B = undefined>(spec: RouteSpec<B, RouteRequest<B>>): Route => erase(spec, "none")

/** An endpoint that needs a valid session (bearer token or session cookie). */
export const sessionRoute = <B = undefined>(spec: RouteSpec<B, SessionRouteRequest<B>>): Route => erase(spec, "session")
