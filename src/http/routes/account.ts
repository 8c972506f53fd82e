/** Account routes: email verification, the profile, deletion and the data export (http-api.md §3). */
import { Effect, Schema } from "effect"
import type { UserPatch } from "../../services/store/index.js"
import { HttpKit, json, status } from "../../plugin/kit.js"
import { publicRoute, sessionRoute } from "../../plugin/route.js"
import { Accounts } from "../../services/accounts.js"
import { coreRateLimits } from "../../services/rate-limit.js"
import { SignIn } from "../../services/sign-in.js"
import { Store } from "../../services/store/index.js"
import {
  AuditEventJson,
  auditEventJson,
  DeviceJson,
  deviceJson,
  EmailField,
  HttpUrlField,
  MetadataField,
  NameField,
  SessionJson,
  sessionJson,
  StatusJson,
  TokenField,
  TokensJson,
  UserJson,
  UsernameField,
  userJson,
} from "../schemas.js"

const VerifyEmailBody = Schema.Union(
  Schema.Struct({ email: EmailField, code: Schema.String.pipe(Schema.pattern(/^\d{6}$/)) }),
  Schema.Struct({ token: TokenField }),
)

const ProfilePatch = Schema.Struct({
  first_name: Schema.optional(NameField),
  last_name: Schema.optional(NameField),
  image: Schema.optional(Schema.NullOr(HttpUrlField)),
  username: Schema.optional(UsernameField),
  metadata: Schema.optional(MetadataField),
})

const OrganizationSummaryJson = Schema.Struct({
  id: Schema.String,
  name: Schema.String,
  slug: Schema.String,
  created_at: Schema.String,
}).annotations({ identifier: "OrganizationSummary" })

export const accountRoutes = Effect.gen(function* () {
  const kit = yield* HttpKit
  const store = yield* Store
  const accounts = yield* Accounts
  const signIn = yield* SignIn

  const verifyEmail = publicRoute({
    method: "POST",
    path: "/verify-email",
    tag: "Accounts",
    summary: "Verify the email address with the mailed 6-digit code or link token, and sign in",
    body: VerifyEmailBody,
    responses: { 200: { description: "verified and signed in", schema: TokensJson } },
    handler: (request) =>
      Effect.gen(function* () {
        yield* kit.limitByIp(request, coreRateLimits.codeIp)
        const user = yield* accounts.verifyEmail(request.body, request.client)
        const tokens = yield* store.transaction(signIn.complete(user, request.client, "email_verification"))
        return yield* kit.signedIn(request, user, tokens)
      }),
  })

  const resendVerification = publicRoute({
    method: "POST",
    path: "/verify-email/resend",
    tag: "Accounts",
    summary: "Mail a new verification code (answers the same whether or not the account exists)",
    body: Schema.Struct({ email: EmailField }),
    responses: { 200: { description: "always ok", schema: StatusJson } },
    handler: (request) =>
      Effect.gen(function* () {
        yield* kit.limitMailTo(request, request.body.email)
        yield* accounts.resendVerification(request.body.email, request.client)
        return status("ok")
      }),
  })

  const me = sessionRoute({
    method: "GET",
    path: "/me",
    tag: "Accounts",
    summary: "The signed-in user",
    responses: { 200: { description: "the user", schema: UserJson } },
    handler: (request) => Effect.succeed(json(200, userJson(request.auth.user))),
  })

  const updateMe = sessionRoute({
    method: "PATCH",
    path: "/me",
    tag: "Accounts",
    summary: "Update the signed-in user's profile",
    body: ProfilePatch,
    responses: { 200: { description: "the updated user", schema: UserJson } },
    handler: (request) =>
      Effect.gen(function* () {
        const { first_name, last_name, image, username, metadata } = request.body
        const patch: { -readonly [K in keyof UserPatch]: UserPatch[K] } = {}
        if (first_name !== undefined) patch.firstName = first_name
        if (last_name !== undefined) patch.lastName = last_name
        if (image !== undefined) patch.image = image
        if (username !== undefined) patch.username = username
        if (metadata !== undefined) patch.metadata = metadata
        const updated = yield* accounts
          .updateProfile(request.auth.user, patch, request.client)
          .pipe(Effect.catchTag("EmailTaken", Effect.die))
        return json(200, userJson(updated))
      }),
  })

  const deleteMe = sessionRoute({
    method: "DELETE",
    path: "/me",
    tag: "Accounts",
    summary: "Delete the account (soft delete, anonymised; every session is revoked)",
    responses: { 200: { description: "deleted", schema: StatusJson } },
    handler: (request) =>
      Effect.as(
        accounts.deleteAccount(request.auth.user, request.client),
        kit.withCookiesCleared(request, status("account deleted")),
      ),
  })

  const exportMe = sessionRoute({
    method: "GET",
    path: "/me/export",
    tag: "Accounts",
    summary: "Everything stored about the signed-in user",
    responses: {
      200: {
        description: "the export (plugins add their own fields)",
        schema: Schema.Struct({
          user: UserJson,
          sessions: Schema.Array(SessionJson),
          devices: Schema.Array(DeviceJson),
          organizations: Schema.Array(OrganizationSummaryJson),
          audit_events: Schema.Array(AuditEventJson),
        }),
      },
    },
    handler: (request) =>
      Effect.map(accounts.exportData(request.auth.user, request.client), (data) =>
        json(200, {
          ...data.extra,
          user: userJson(data.user),
          sessions: data.sessions.map(sessionJson),
          devices: data.devices.map(deviceJson),
          organizations: data.organizations.map((org) => ({
            id: org.id,
            name: org.name,
            slug: org.slug,
            created_at: org.createdAt.toISOString(),
          })),
          audit_events: data.auditEvents.map(auditEventJson),
        }),
      ),
  })

  return [verifyEmail, resendVerification, me, updateMe, deleteMe, exportMe]
})
