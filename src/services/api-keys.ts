/**
 * API keys: `sk_live_` + 256 random bits, shown once and stored as SHA-256 (with a short visible prefix to tell
 * keys apart). A key acts as its user, within its scopes when it has some — and a key never has more than its user:
 * its scopes must be held by the user when it is made, and every use checks the user's permissions as well.
 * Validation reads the database on every request (no cache can answer for a revoked key).
 */
import { Clock, Duration, Effect, Option } from "effect"
import { InvalidRequest, NotFound, Unauthorized } from "../domain/errors.js"
import { type ApiKeyId, isId, newId } from "../domain/ids.js"
import type * as M from "../domain/models.js"
import { parsePermission, type PermissionName } from "../domain/permissions.js"
import { Authorization } from "./authorization.js"
import type { ClientContext } from "./context.js"
import { randomToken, sha256Hex } from "./crypto.js"
import { Events } from "./events.js"
import { RateLimiter, rateLimitPolicy } from "./rate-limit.js"
import { ApiKeyStore, type ApiKeyWithUser, Store } from "./store/index.js"

const keyPrefix = "sk_live_"

/** Whether a bearer credential is an API key (a session token starting so is astronomically unlikely). */
export const isApiKeyToken = (token: string) => token.startsWith(keyPrefix)

export const apiKeyRateLimits = {
  /** Requests per key, whichever instance they reach. */
  apiKey: rateLimitPolicy("apiKey", 1000, "1 minute"),
} as const

/** `last_used_at` is written at most this often per key, so a key's requests stay reads. */
const usageResolution = Duration.toMillis("1 minute")

export interface NewApiKey {
  readonly name: string
  readonly scopes?: ReadonlyArray<string> | undefined
  readonly expiresAt?: Date | null | undefined
}

export interface CreatedApiKey {
  readonly key: M.ApiKey
  /** The whole key: shown to its owner once, never stored. */
  readonly secret: string
}

const invalidKey = () => new Unauthorized({ message: "invalid API key" })

export class ApiKeys extends Effect.Service<ApiKeys>()("authsome/ApiKeys", {
  effect: Effect.gen(function* () {
    const store = yield* Store
    const keys = yield* ApiKeyStore
    const authorization = yield* Authorization
    const events = yield* Events
    const limiter = yield* RateLimiter

    /**
     * The live key and its user for the request's app, or `Unauthorized`: unknown, another app's, revoked,
     * expired, or its user banned. Used by the pipeline (then rate limited and its use recorded) and by introspection.
     */
    const verify = (token: string, client: ClientContext, at: number): Effect.Effect<ApiKeyWithUser, Unauthorized> => {
      if (token.length > 512) return Effect.fail(invalidKey())
      return Effect.flatMap(keys.findWithUser(sha256Hex(token)), (found) => {
        if (Option.isNone(found) || found.value.key.appId !== client.app.id) return Effect.fail(invalidKey())
        const { key, user } = found.value
        if (key.revokedAt !== null) return Effect.fail(new Unauthorized({ message: "API key revoked" }))
        if (key.expiresAt !== null && key.expiresAt.getTime() <= at) {
          return Effect.fail(new Unauthorized({ message: "API key expired" }))
        }
        if (user.banned && (user.banExpires === null || user.banExpires.getTime() > at)) {
          return Effect.fail(new Unauthorized({ message: "the API key's user is banned" }))
        }
        return Effect.succeed(found.value)
      })
    }

    /** A request's key: verified, counted against its rate limit, its use recorded at most once a minute. */
    const authenticate = (token: string, client: ClientContext) =>
      Effect.flatMap(Clock.currentTimeMillis, (at) =>
        Effect.tap(verify(token, client, at), ({ key }) =>
          Effect.zipRight(
            limiter.consume(apiKeyRateLimits.apiKey, `key:${key.id}`),
            key.lastUsedAt === null || at - key.lastUsedAt.getTime() >= usageResolution
              ? keys.touch(key.id, new Date(at))
              : Effect.void,
          ),
        ),
      )

    /** For introspection: the key if it is active, without counting a use. */
    const inspect = (token: string, client: ClientContext) =>
      Effect.flatMap(Clock.currentTimeMillis, (at) => Effect.option(verify(token, client, at)))

    const parseScopes = (scopes: ReadonlyArray<string>) => {
      const parsed: Array<PermissionName> = []
      for (const [index, scope] of scopes.entries()) {
        const permission = parsePermission(scope)
        if (permission === undefined) {
          return Effect.fail(
            new InvalidRequest({
              message: "invalid scope",
              details: [{ path: `scopes.${index}`, message: "expected resource:action" }],
            }),
          )
        }
        parsed.push(permission)
      }
      return Effect.succeed(parsed)
    }

    /**
     * Makes a key for `user`. Each scope must be a permission the user holds (app-wide), else `Forbidden`; no scopes
     * means the key can do what its user can.
     */
    const create = (user: M.User, client: ClientContext, input: NewApiKey) =>
      Effect.gen(function* () {
        const at = new Date(yield* Clock.currentTimeMillis)
        if (input.expiresAt && input.expiresAt.getTime() <= at.getTime()) {
          return yield* new InvalidRequest({
            message: "expires_at must be in the future",
            details: [{ path: "expires_at", message: "must be in the future" }],
          })
        }
        const scopes = [...new Set(input.scopes ?? [])]
        const wanted = yield* parseScopes(scopes)
        yield* authorization.ensureHoldsAll(user, undefined, wanted)
        const random = randomToken()
        const secret = `${keyPrefix}${random}`
        const key: M.ApiKey = {
          id: newId.apiKey(),
          appId: user.appId,
          envId: user.envId,
          userId: user.id,
          name: input.name,
          keyHash: sha256Hex(secret),
          keyPrefix: `${keyPrefix}${random.slice(0, 8)}`,
          scopes,
          expiresAt: input.expiresAt ?? null,
          lastUsedAt: null,
          revokedAt: null,
          createdAt: at,
          updatedAt: at,
        }
        const created = yield* store.transaction(
          Effect.tap(keys.create(key), (created) =>
            events.emit(client, {
              type: "apikey.created",
              userId: user.id,
              metadata: { key_id: created.id, name: created.name, key_prefix: created.keyPrefix, scopes },
            }),
          ),
        )
        return { key: created, secret } satisfies CreatedApiKey
      })

    /** The user's keys that are not revoked, newest first (expired ones included: they show why a key stopped). */
    const listForUser = (user: M.User) =>
      Effect.map(keys.listByUser(user.appId, user.id), (all) => all.filter((key) => key.revokedAt === null))

    /** Revokes one of the user's keys; every instance refuses it on its next request. Another user's is `NotFound`. */
    const revoke = (user: M.User, id: string, client: ClientContext) =>
      Effect.gen(function* () {
        const key = isId("apiKey", id) ? yield* Effect.option(keys.get(id as ApiKeyId)) : Option.none<M.ApiKey>()
        if (Option.isNone(key) || key.value.userId !== user.id || key.value.revokedAt !== null) {
          return yield* new NotFound({ entity: "api_key" })
        }
        const at = new Date(yield* Clock.currentTimeMillis)
        yield* store.transaction(
          Effect.zipRight(
            keys.revoke(key.value.id, at),
            events.emit(client, {
              type: "apikey.revoked",
              userId: user.id,
              metadata: { key_id: key.value.id, key_prefix: key.value.keyPrefix },
            }),
          ),
        )
      })

    return { authenticate, inspect, create, listForUser, revoke } as const
  }),
}) {}
