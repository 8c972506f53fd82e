/**
 * `authsome/plugin`: the plugin SDK. Everything a plugin needs beyond the public `authsome` API — the core's own
 * routes are written with the same pieces.
 *
 * - `definePlugin` and the plugin's parts (`Plugin`, hooks, the services it can build on);
 * - routes: `publicRoute` / `sessionRoute` (with `requires`, `credentials` and `callerPermission`), the request
 *   types, `HttpKit` (sign-in responses, cookies, CSRF, rate limits in the `RateLimit-*` headers), `json`/`status`,
 *   the shared request-field and response schemas;
 * - errors: `declareError` (status, `type`, message, extra fields, headers — read by the pipeline and the OpenAPI
 *   document alike);
 * - rate limits: `rateLimitPolicy` and the core's shared policies;
 * - stores: `storeLayer` with the `Sql` helpers and the memory engine's tables, and `ddl` migrations.
 */
export {
  type AnyPlugin,
  type CoreServices,
  definePlugin,
  type EngineServices,
  type Plugin,
  type PluginErrors,
  type PluginHooks,
  type PluginServices,
  type SignInProof,
} from "./plugin.js"
export {
  type ApiKeyAuthenticated,
  type Authenticated,
  type CallerPermission,
  type Method,
  type PermissionString,
  publicRoute,
  type QueryParameter,
  type ResponseSpec,
  type Route,
  type RouteRequest,
  type SessionAuthenticated,
  type SessionOnlyRouteRequest,
  type SessionRouteRequest,
  sessionRoute,
} from "./route.js"
export { type Cookie, HttpKit, ipSubject, json, redirect, status, withCookies } from "./kit.js"
export { declareError, type ErrorDeclaration, secondsUntil, type TaggedFailure } from "./errors.js"
export {
  coreRateLimits,
  type LockoutSubject,
  RateLimiter,
  type RateLimitPolicy,
  rateLimitPolicy,
} from "../services/rate-limit.js"
export type { ApiRequest, ApiResponse } from "../http/message.js"
export type { ClientContext } from "../services/context.js"
export {
  AuditEventJson,
  auditEventJson,
  DeviceJson,
  deviceJson,
  EmailField,
  HttpUrlField,
  MetadataField,
  NameField,
  PasswordField,
  RefreshedJson,
  SessionJson,
  sessionJson,
  StatusJson,
  TokenField,
  TokensJson,
  UserJson,
  UsernameField,
  userJson,
} from "../http/schemas.js"
export { codeHash, constantTimeEqual, randomToken, sha256Hex, sixDigitCode } from "../services/crypto.js"
export * from "./store.js"
