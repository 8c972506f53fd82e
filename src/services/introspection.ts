/** Token introspection (RFC 7662 style): is this session token or API key active, and whose is it? */
import { Effect, Option } from "effect"
import { ApiKeys, isApiKeyToken } from "./api-keys.js"
import type { ClientContext } from "./context.js"
import { Sessions } from "./sessions.js"

export type IntrospectionResult =
  | { readonly active: false }
  | {
      readonly active: true
      readonly token_type: "session" | "api_key"
      readonly user_id: string
      readonly app_id: string
      readonly env_id: string
      readonly session_id?: string
      readonly org_id?: string | null
      readonly scopes?: ReadonlyArray<string>
      readonly expires_at: string | null
    }

const inactive: IntrospectionResult = { active: false }

export class Introspection extends Effect.Service<Introspection>()("authsome/Introspection", {
  effect: Effect.gen(function* () {
    const sessions = yield* Sessions
    const apiKeys = yield* ApiKeys

    const apiKey = (token: string, client: ClientContext) =>
      Effect.map(apiKeys.inspect(token, client), (found): IntrospectionResult => {
        if (Option.isNone(found)) return inactive
        const { key } = found.value
        return {
          active: true,
          token_type: "api_key",
          user_id: key.userId,
          app_id: key.appId,
          env_id: key.envId,
          scopes: key.scopes,
          expires_at: key.expiresAt?.toISOString() ?? null,
        }
      })

    const session = (token: string, client: ClientContext) =>
      Effect.map(Effect.option(sessions.validate(token, client)), (found): IntrospectionResult => {
        if (Option.isNone(found)) return inactive
        const { session } = found.value
        return {
          active: true,
          token_type: "session",
          user_id: session.userId,
          app_id: session.appId,
          env_id: session.envId,
          session_id: session.id,
          org_id: session.orgId,
          expires_at: session.expiresAt.toISOString(),
        }
      })

    /** A credential of another app is inactive, as is anything unknown, expired or revoked (or a banned user's key). */
    const introspect = (token: string, client: ClientContext) =>
      isApiKeyToken(token) ? apiKey(token, client) : session(token, client)

    return { introspect } as const
  }),
}) {}
