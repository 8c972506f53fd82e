/** The MFA plugin's routes (http-api.md §6): TOTP enrollment, the sign-in challenge, disabling, recovery codes. */
import { Effect, Schema } from "effect"
import {
  type ApiResponse,
  coreRateLimits,
  HttpKit,
  json,
  publicRoute,
  rateLimitPolicy,
  type SessionRouteRequest,
  StatusJson,
  sessionRoute,
  status,
  TokensJson,
} from "../../plugin/index.js"
import { MfaAuth } from "./service.js"

/** The MFA routes' own limit (configurable by name under `rateLimit.rules`); codes are also limited per IP. */
export const mfaRateLimits = {
  /** Codes tried by a signed-in user (confirming, disabling, new recovery codes), per user. */
  mfaCodeUser: rateLimitPolicy("mfaCodeUser", 10, "1 minute"),
} as const

const CodeField = Schema.Trim.pipe(Schema.minLength(1), Schema.maxLength(64)).annotations({
  description: "a 6-digit TOTP code, or a recovery code where accepted",
})
const TicketField = Schema.String.pipe(Schema.minLength(1), Schema.maxLength(1024)).annotations({
  description: "the `mfa_ticket` of the `mfa_required` answer",
})
const CodeBody = Schema.Struct({ code: CodeField })

const EnrollmentJson = Schema.Struct({
  id: Schema.String,
  secret: Schema.String.annotations({ description: "the TOTP seed in base32 (shown once)" }),
  otpauth_url: Schema.String,
}).annotations({ identifier: "MfaEnrollment" })

const RecoveryCodes = Schema.Array(Schema.String).annotations({ description: "10 single-use codes, shown once" })

const enrollmentJson = (enrollment: { id: string; secret: string; otpauthUrl: string }) =>
  json(200, { id: enrollment.id, secret: enrollment.secret, otpauth_url: enrollment.otpauthUrl })

/** The signed-in answer plus the recovery codes of the enrollment the challenge completed (shown once). */
const withRecoveryCodes = (response: ApiResponse, codes: ReadonlyArray<string>): ApiResponse => ({
  ...response,
  body: JSON.stringify({ ...JSON.parse(response.body ?? "{}"), recovery_codes: codes }),
})

export const mfaRoutes = Effect.gen(function* () {
  const mfa = yield* MfaAuth
  const kit = yield* HttpKit

  const limitCodes = (request: SessionRouteRequest<unknown>) =>
    Effect.zipRight(
      kit.limitByIp(request, coreRateLimits.codeIp),
      kit.limitByAppSubject(request, mfaRateLimits.mfaCodeUser, `user:${request.auth.user.id}`),
    )

  const enroll = sessionRoute({
    method: "POST",
    path: "/mfa/enroll",
    credentials: "session",
    tag: "MFA",
    summary: "Start a TOTP enrollment: the seed and its otpauth:// URL (confirm with POST /mfa/verify)",
    description: "Replaces an unconfirmed enrollment; 409 while MFA is enabled.",
    body: Schema.Struct({ method: Schema.optional(Schema.Literal("totp")) }),
    responses: { 200: { description: "the new, unconfirmed enrollment", schema: EnrollmentJson } },
    handler: (request) => Effect.map(mfa.enroll(request.auth.user, request.client), enrollmentJson),
  })

  const verify = sessionRoute({
    method: "POST",
    path: "/mfa/verify",
    credentials: "session",
    tag: "MFA",
    summary: "Confirm the enrollment with a first code; MFA is on, and the recovery codes are shown once",
    body: CodeBody,
    responses: {
      200: {
        description: "MFA enabled",
        schema: Schema.Struct({ verified: Schema.Literal(true), recovery_codes: RecoveryCodes }),
      },
    },
    handler: (request) =>
      Effect.gen(function* () {
        yield* limitCodes(request)
        const codes = yield* mfa.confirm(request.auth.user, request.body.code, request.client)
        return json(200, { verified: true, recovery_codes: codes })
      }),
  })

  const challenge = publicRoute({
    method: "POST",
    path: "/mfa/challenge",
    tag: "MFA",
    summary: "Complete a sign-in that answered mfa_required, with a TOTP or recovery code",
    description:
      "Each code counts one try of the ticket (5 minutes, 5 tries; then 429 `too_many_attempts`). A code is accepted " +
      "once. For a ticket with `enrollment_required`, the code confirms the enrollment started with " +
      "`POST /mfa/challenge/enroll`, and the answer also carries the `recovery_codes` (shown once).",
    body: Schema.Struct({ mfa_ticket: TicketField, code: CodeField }),
    responses: {
      200: {
        description: "signed in",
        schema: Schema.Struct({ ...TokensJson.fields, recovery_codes: Schema.optional(RecoveryCodes) }),
      },
    },
    handler: (request) =>
      Effect.gen(function* () {
        yield* kit.limitByIp(request, coreRateLimits.codeIp)
        const { user, tokens, recoveryCodes } = yield* mfa.challenge(
          request.body.mfa_ticket,
          request.body.code,
          request.client,
        )
        const signedIn = yield* kit.signedIn(request, user, tokens)
        return recoveryCodes === undefined ? signedIn : withRecoveryCodes(signedIn, recoveryCodes)
      }),
  })

  const enrollWithTicket = publicRoute({
    method: "POST",
    path: "/mfa/challenge/enroll",
    tag: "MFA",
    summary: "Start the TOTP enrollment an app requires, with the ticket of the refused sign-in",
    description: "For an `mfa_required` answer with `enrollment_required: true`; then `POST /mfa/challenge`.",
    body: Schema.Struct({ mfa_ticket: TicketField }),
    responses: { 200: { description: "the new, unconfirmed enrollment", schema: EnrollmentJson } },
    handler: (request) =>
      Effect.gen(function* () {
        yield* kit.limitByIp(request, coreRateLimits.codeIp)
        return enrollmentJson(yield* mfa.enrollWithTicket(request.body.mfa_ticket, request.client))
      }),
  })

  const state = sessionRoute({
    method: "GET",
    path: "/mfa/status",
    credentials: "session",
    tag: "MFA",
    summary: "Whether the caller's MFA is on (a confirmed TOTP enrollment)",
    responses: {
      200: {
        description: "the MFA state",
        schema: Schema.Struct({ enabled: Schema.Boolean }).annotations({ identifier: "MfaStatus" }),
      },
    },
    handler: (request) => Effect.map(mfa.isEnabled(request.auth.user), (enabled) => json(200, { enabled })),
  })

  const disable = sessionRoute({
    method: "DELETE",
    path: "/mfa/enrollment",
    credentials: "session",
    tag: "MFA",
    summary: "Disable MFA; needs a current TOTP or recovery code",
    body: CodeBody,
    responses: { 200: { description: "MFA disabled", schema: StatusJson } },
    handler: (request) =>
      Effect.gen(function* () {
        yield* limitCodes(request)
        yield* mfa.disable(request.auth.user, request.body.code, request.client)
        return status("mfa disabled")
      }),
  })

  const regenerate = sessionRoute({
    method: "POST",
    path: "/mfa/recovery/regenerate",
    credentials: "session",
    tag: "MFA",
    summary: "New recovery codes (the old ones stop working); needs a current TOTP or recovery code",
    body: CodeBody,
    responses: {
      200: { description: "the new codes, shown once", schema: Schema.Struct({ recovery_codes: RecoveryCodes }) },
    },
    handler: (request) =>
      Effect.gen(function* () {
        yield* limitCodes(request)
        const codes = yield* mfa.regenerateRecoveryCodes(request.auth.user, request.body.code, request.client)
        return json(200, { recovery_codes: codes })
      }),
  })

  return [state, enroll, verify, challenge, enrollWithTicket, disable, regenerate]
})
