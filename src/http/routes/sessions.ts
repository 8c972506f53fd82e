/** Session routes: validate, refresh, sign out, list and revoke (http-api.md §3). */
import { Effect, Schema } from "effect"
import { HttpKit, json, status } from "../../plugin/kit.js"
import { publicRoute, sessionRoute } from "../../plugin/route.js"
import { coreRateLimits } from "../../services/rate-limit.js"
import { Sessions } from "../../services/sessions.js"
import {
  ListedSessionJson,
  RefreshedJson,
  SessionJson,
  sessionJson,
  StatusJson,
  TokenField,
  UserJson,
  userJson,
} from "../schemas.js"

export const sessionRoutes = Effect.gen(function* () {
  const kit = yield* HttpKit
  const sessions = yield* Sessions

  const session = sessionRoute({
    method: "GET",
    path: "/session",
    tag: "Sessions",
    summary: "Validate the session: the per-request check",
    description: "Needs a session token (an API key is checked with `POST /introspect`).",
    credentials: "session",
    responses: {
      200: {
        description: "the session and its user",
        schema: Schema.Struct({ user: UserJson, session: SessionJson }),
      },
    },
    handler: (request) =>
      Effect.succeed(json(200, { user: userJson(request.auth.user), session: sessionJson(request.auth.session) })),
  })

  const refresh = publicRoute({
    method: "POST",
    path: "/refresh",
    tag: "Sessions",
    summary: "Rotate the session and refresh tokens",
    description:
      "Takes the refresh token from the body or the refresh cookie. Presenting an already-rotated refresh token " +
      "revokes its whole family. Of concurrent refreshes with one token exactly one succeeds.",
    body: Schema.Struct({ refresh_token: Schema.optional(TokenField) }),
    responses: { 200: { description: "rotated tokens", schema: RefreshedJson } },
    handler: (request) =>
      Effect.gen(function* () {
        yield* kit.limitByIp(request, coreRateLimits.refreshIp)
        const fromBody = request.body.refresh_token
        const fromCookie = fromBody === undefined ? kit.refreshCookie(request) : undefined
        if (fromCookie !== undefined) yield* kit.ensureSameOrigin(request)
        const tokens = yield* sessions.refresh(fromBody ?? fromCookie ?? "", request.client)
        return yield* kit.refreshed(request, tokens, fromCookie !== undefined)
      }),
  })

  const signout = sessionRoute({
    method: "POST",
    path: "/signout",
    tag: "Sessions",
    summary: "Revoke the current session (every instance rejects it at once)",
    credentials: "session",
    responses: { 200: { description: "signed out", schema: StatusJson } },
    handler: (request) =>
      Effect.as(
        sessions.signOut(request.auth.session, request.client),
        kit.withCookiesCleared(request, status("signed out")),
      ),
  })

  const list = sessionRoute({
    method: "GET",
    path: "/sessions",
    tag: "Sessions",
    summary: "The signed-in user's sessions (`current` marks the one of this request, if any)",
    responses: {
      200: {
        description: "sessions, newest first",
        schema: Schema.Struct({ sessions: Schema.Array(ListedSessionJson) }),
      },
    },
    handler: (request) =>
      Effect.map(sessions.listForUser(request.auth.user, request.auth.session?.id), (all) =>
        json(200, { sessions: all.map(({ session, current }) => ({ ...sessionJson(session), current })) }),
      ),
  })

  const revoke = sessionRoute({
    method: "DELETE",
    path: "/sessions/:id",
    tag: "Sessions",
    summary: "Revoke one of the signed-in user's sessions",
    responses: { 200: { description: "revoked", schema: StatusJson } },
    handler: (request) =>
      Effect.map(sessions.revokeOwn(request.auth.user, request.params["id"] ?? "", request.client), (revoked) =>
        revoked.id === request.auth.session?.id
          ? kit.withCookiesCleared(request, status("revoked"))
          : status("revoked"),
      ),
  })

  const revokeOthers = sessionRoute({
    method: "POST",
    path: "/sessions/revoke-others",
    tag: "Sessions",
    summary: "Revoke every session of the user except the current one",
    credentials: "session",
    responses: { 200: { description: "how many were revoked", schema: Schema.Struct({ revoked: Schema.Number }) } },
    handler: (request) =>
      Effect.map(sessions.revokeOthers(request.auth.user, request.auth.session.id, request.client), (revoked) =>
        json(200, { revoked }),
      ),
  })

  return [session, refresh, signout, list, revoke, revokeOthers]
})
