/** The magic-link routes (http-api.md §6): mail a sign-in link, sign in with its token. */
import { Effect, Schema } from "effect"
import {
  coreRateLimits,
  EmailField,
  HttpKit,
  json,
  publicRoute,
  StatusJson,
  TokenField,
  TokensJson,
} from "../../plugin/index.js"
import { MagicLinks } from "./service.js"

export const magicLinkRoutes = Effect.gen(function* () {
  const links = yield* MagicLinks
  const kit = yield* HttpKit

  const send = publicRoute({
    method: "POST",
    path: "/magic-link/send",
    tag: "Magic link",
    summary: "Mail a sign-in link (answers the same, in the same time, whether or not the account exists)",
    description:
      "The link `{publicUrl}/magic-link?token=...` works once, for 10 minutes by default; its token is what " +
      "`POST /magic-link/verify` takes.",
    body: Schema.Struct({ email: EmailField }),
    responses: { 200: { description: "always ok", schema: StatusJson } },
    handler: (request) =>
      Effect.gen(function* () {
        yield* kit.limitMailTo(request, request.body.email)
        yield* links.send(request.body.email, request.client)
        return json(200, { status: "ok" })
      }),
  })

  const verify = publicRoute({
    method: "POST",
    path: "/magic-link/verify",
    tag: "Magic link",
    summary: "Sign in with a mailed link's token (single use); verifies the email",
    body: Schema.Struct({ token: TokenField }),
    responses: { 200: { description: "signed in", schema: TokensJson } },
    handler: (request) =>
      Effect.gen(function* () {
        yield* kit.limitByIp(request, coreRateLimits.codeIp)
        const { user, tokens } = yield* links.verify(request.body.token, request.client)
        return yield* kit.signedIn(request, user, tokens)
      }),
  })

  return [send, verify]
})
