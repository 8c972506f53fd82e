/** Token introspection (RFC 7662 style): is this session token or API key active, and whose is it? */
import { Clock, Effect, Option } from "effect"
import type { ClientContext } from "./context.js"
import { sha256Hex } from "./crypto.js"
import { Sessions } from "./sessions.js"
import { ApiKeyStore } from "./store/index.js"

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
    const apiKeys = yield* ApiKeyStore

    const apiKey = (token: string, client: ClientContext) =>
      Effect.flatMap(Effect.zip(apiKeys.findByHash(sha256Hex(token)), Clock.currentTimeMillis), ([found, now]) => {
        if (Option.isNone(found)) return Effect.succeed(inactive)
        const key = found.value
        const expired = key.expiresAt !== null && key.expiresAt.getTime() <= now
        if (key.appId !== client.app.id || key.revokedAt !== null || expired) return Effect.succeed(inactive)
        return Effect.succeed<IntrospectionResult>({
          active: true,
          token_type: "api_key",
          user_id: key.userId,
          app_id: key.appId,
          env_id: key.envId,
          scopes: key.scopes,
          expires_at: key.expiresAt?.toISOString() ?? null,
        })
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

    /** A credential of another app is inactive, as is anything unknown, expired or revoked. */
    const introspect = (token: string, client: ClientContext) =>
      token.startsWith("sk_") ? apiKey(token, client) : session(token, client)

    return { introspect } as const
  }),
}) {}
