/** The password plugin's routes (http-api.md §3): sign-up, sign-in, forgotten, reset and changed passwords. */
import { Effect, Schema } from "effect"
import {
  EmailField,
  HttpKit,
  json,
  MetadataField,
  NameField,
  PasswordField,
  publicRoute,
  rateLimitPolicy,
  coreRateLimits,
  sessionRoute,
  StatusJson,
  TokenField,
  TokensJson,
  UserJson,
  UsernameField,
  userJson,
  sha256Hex,
} from "../../plugin/index.js"
import { PasswordAuth, signInIdentifier } from "./service.js"

/** The password routes' own limits (configurable by name under `rateLimit.rules`). */
export const passwordRateLimits = {
  signinIp: rateLimitPolicy("signinIp", 10, "1 minute"),
  signinIdentifier: rateLimitPolicy("signinIdentifier", 5, "1 minute"),
  signupIp: rateLimitPolicy("signupIp", 5, "1 minute"),
  changePasswordUser: rateLimitPolicy("changePasswordUser", 5, "1 minute"),
  changePasswordIp: rateLimitPolicy("changePasswordIp", 10, "1 minute"),
} as const

const SignUpBody = Schema.Struct({
  email: EmailField,
  password: PasswordField,
  first_name: Schema.optional(NameField),
  last_name: Schema.optional(NameField),
  username: Schema.optional(UsernameField),
  metadata: Schema.optional(MetadataField),
})

const SignInBody = Schema.Union(
  Schema.Struct({ email: EmailField, password: PasswordField }),
  Schema.Struct({ username: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(64)), password: PasswordField }),
)

const SignUpPending = Schema.Struct({ user: UserJson, verification_required: Schema.Literal(true) }).annotations({
  identifier: "SignUpPending",
})

export const passwordRoutes = Effect.gen(function* () {
  const passwords = yield* PasswordAuth
  const kit = yield* HttpKit

  const signup = publicRoute({
    method: "POST",
    path: "/signup",
    tag: "Password",
    summary: "Create an account with email and password",
    description:
      "With email verification required (the default) the answer is `{user, verification_required: true}` and a " +
      "code is mailed — the same for an email already registered. Otherwise the user is signed in.",
    body: SignUpBody,
    responses: {
      201: {
        description: "created (pending verification, or signed in)",
        schema: Schema.Union(SignUpPending, TokensJson),
      },
    },
    handler: (request) =>
      Effect.gen(function* () {
        yield* kit.limitByIp(request, passwordRateLimits.signupIp)
        const result = yield* passwords.signUp(request.body, request.client)
        if (result.tokens === undefined) {
          return json(201, { user: userJson(result.user), verification_required: true })
        }
        return yield* kit.signedIn(request, result.user, result.tokens, 201)
      }),
  })

  const signin = publicRoute({
    method: "POST",
    path: "/signin",
    tag: "Password",
    summary: "Sign in with email or username and password",
    body: SignInBody,
    responses: { 200: { description: "signed in", schema: TokensJson } },
    handler: (request) =>
      Effect.gen(function* () {
        yield* kit.limitByIp(request, passwordRateLimits.signinIp)
        const identifier = signInIdentifier(request.body)
        const { user, tokens } = yield* passwords.signInWithPassword(
          request.body,
          request.client,
          kit.limitByAppSubject(request, passwordRateLimits.signinIdentifier, `id:${sha256Hex(identifier)}`),
        )
        return yield* kit.signedIn(request, user, tokens)
      }),
  })

  const forgot = publicRoute({
    method: "POST",
    path: "/forgot-password",
    tag: "Password",
    summary: "Mail a password-reset link (answers the same whether or not the account exists)",
    body: Schema.Struct({ email: EmailField }),
    responses: { 200: { description: "always ok", schema: StatusJson } },
    handler: (request) =>
      Effect.gen(function* () {
        yield* kit.limitMailTo(request, request.body.email)
        yield* passwords.forgotPassword(request.body.email, request.client)
        return json(200, { status: "ok" })
      }),
  })

  const reset = publicRoute({
    method: "POST",
    path: "/reset-password",
    tag: "Password",
    summary: "Set a new password with a reset token (single use, 1 hour); revokes every session",
    body: Schema.Struct({ token: TokenField, new_password: PasswordField }),
    responses: { 200: { description: "password reset", schema: StatusJson } },
    handler: (request) =>
      Effect.gen(function* () {
        yield* kit.limitByIp(request, coreRateLimits.codeIp)
        yield* passwords.resetPassword(request.body.token, request.body.new_password, request.client)
        return json(200, { status: "password reset" })
      }),
  })

  const change = sessionRoute({
    method: "POST",
    path: "/change-password",
    tag: "Password",
    summary: "Change the password; other sessions are revoked unless `revoke_other_sessions` is false",
    credentials: "session",
    body: Schema.Struct({
      current_password: PasswordField,
      new_password: PasswordField,
      revoke_other_sessions: Schema.optional(Schema.Boolean),
    }),
    responses: { 200: { description: "password changed", schema: StatusJson } },
    handler: (request) =>
      Effect.gen(function* () {
        yield* kit.limitByIp(request, passwordRateLimits.changePasswordIp)
        yield* kit.limitByAppSubject(request, passwordRateLimits.changePasswordUser, `user:${request.auth.user.id}`)
        yield* passwords.changePassword(
          request.auth,
          request.body.current_password,
          request.body.new_password,
          request.body.revoke_other_sessions ?? true,
          request.client,
        )
        return json(200, { status: "password changed" })
      }),
  })

  return [signup, signin, forgot, reset, change]
})
