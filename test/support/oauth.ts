/**
 * Real counterparts for the social sign-in tests:
 * - `TestIssuer`: panva's `oidc-provider`, a certified OpenID Provider, on 127.0.0.1 with one static client, its
 *   development login and consent pages, and a pass-through proxy in front of it through which a test can observe
 *   or tamper with the token endpoint's answer (the issuer URL is the proxy's);
 * - `authorizeAt`: a browser at the provider, from the authorization URL through its pages back to the client;
 * - `GitHubStub` and `GoogleStub`: node:http servers answering what GitHub's and Google's documented authorization,
 *   token, user and key endpoints answer, reached through the plugin's endpoint overrides;
 * - `startSocialServer`: the engine on its own port, so its public URL (and so every redirect URI) is known first.
 */
import { createHash, randomBytes } from "node:crypto"
import { createServer, type IncomingMessage, request as httpRequest, type Server, type ServerResponse } from "node:http"
import * as jose from "jose"
import Provider from "oidc-provider"
import type { AuthsomeOptions } from "../../src/authsome.js"
import { type Client, startServer } from "./http.js"
import { freePort } from "./smtp.js"

const listenOn = (server: Server, port: number) =>
  new Promise<void>((resolve) => server.listen(port, "127.0.0.1", () => resolve()))

const closeServer = (server: Server) =>
  new Promise<void>((resolve) => {
    server.closeAllConnections()
    server.close(() => resolve())
  })

const readBody = (request: IncomingMessage) =>
  new Promise<Buffer>((resolve, reject) => {
    const chunks: Array<Buffer> = []
    request.on("data", (chunk: Buffer) => chunks.push(chunk))
    request.on("end", () => resolve(Buffer.concat(chunks)))
    request.on("error", reject)
  })

const sendJson = (response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  const text = JSON.stringify(body)
  response.writeHead(status, { "content-type": "application/json; charset=utf-8", ...headers })
  response.end(text)
}

const s256 = (verifier: string) => createHash("sha256").update(verifier).digest("base64url")

const newSigningKey = async (kid: string) => {
  const { privateKey, publicKey } = await jose.generateKeyPair("RS256", { extractable: true })
  const publicJwk = { ...(await jose.exportJWK(publicKey)), kid, alg: "RS256", use: "sig" }
  const privateJwk = { ...(await jose.exportJWK(privateKey)), kid, alg: "RS256", use: "sig" }
  return { privateKey, publicJwk, privateJwk }
}

// --- the OpenID Provider ------------------------------------------------------------------------------------------

export interface IssuerAccount {
  readonly email: string
  readonly email_verified: boolean
  readonly given_name?: string
  readonly family_name?: string
}

type TokenBody = Record<string, unknown>

export class TestIssuer {
  /** What the provider knows about each login (the development login page accepts any password). */
  readonly accounts = new Map<string, IssuerAccount>()
  /** Sees (and may replace) the token endpoint's JSON answers on their way to the client. */
  onTokenResponse: ((body: TokenBody) => TokenBody | Promise<TokenBody>) | undefined

  private constructor(
    readonly issuer: string,
    readonly clientId: string,
    readonly clientSecret: string,
    private readonly signingKey: CryptoKey,
    private readonly kid: string,
    private readonly servers: ReadonlyArray<Server>,
  ) {}

  static async start(redirectUris: ReadonlyArray<string>): Promise<TestIssuer> {
    const [frontPort, backPort] = [await freePort(), await freePort()]
    const issuer = `http://127.0.0.1:${frontPort}`
    const kid = `test-${randomBytes(4).toString("hex")}`
    const key = await newSigningKey(kid)
    const clientId = "authsome-test"
    const clientSecret = randomBytes(24).toString("base64url")
    let self: TestIssuer | undefined
    const provider = new Provider(issuer, {
      clients: [
        {
          client_id: clientId,
          client_secret: clientSecret,
          redirect_uris: [...redirectUris],
          grant_types: ["authorization_code"],
          response_types: ["code"],
        },
      ],
      jwks: { keys: [key.privateJwk] },
      findAccount: async (_ctx: unknown, id: string) => ({
        accountId: id,
        claims: async () => ({ sub: id, ...self?.accounts.get(id) }),
      }),
      claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["given_name", "family_name"] },
      cookies: { keys: [randomBytes(16).toString("hex")] },
      ttl: { AccessToken: 3600, AuthorizationCode: 600, Grant: 3600, IdToken: 3600, Interaction: 600, Session: 3600 },
    })
    const back = createServer(provider.callback())
    await listenOn(back, backPort)
    const front = createServer((request, response) => {
      void self?.forward(request, response, backPort)
    })
    await listenOn(front, frontPort)
    self = new TestIssuer(issuer, clientId, clientSecret, key.privateKey, kid, [front, back])
    return self
  }

  /** Passes the request to the provider, and its token answers through `onTokenResponse`. */
  private async forward(request: IncomingMessage, response: ServerResponse, port: number) {
    const body = await readBody(request)
    const upstream = httpRequest({
      host: "127.0.0.1",
      port,
      method: request.method,
      path: request.url,
      headers: request.headers,
    })
    upstream.on("response", async (answer) => {
      const payload = await readBody(answer)
      const tamper = this.onTokenResponse
      if (request.url?.startsWith("/token") && answer.statusCode === 200 && tamper !== undefined) {
        const replaced = Buffer.from(JSON.stringify(await tamper(JSON.parse(payload.toString("utf8")))))
        response.writeHead(200, { ...answer.headers, "content-length": String(replaced.length) })
        response.end(replaced)
        return
      }
      response.writeHead(answer.statusCode ?? 502, answer.headers)
      response.end(payload)
    })
    upstream.end(body)
  }

  /** The ID token with `changes` to its claims, signed again with the issuer's own key (a valid signature). */
  async resign(idToken: string, changes: Record<string, unknown>): Promise<string> {
    return new jose.SignJWT({ ...jose.decodeJwt(idToken), ...changes })
      .setProtectedHeader({ alg: "RS256", kid: this.kid, typ: "JWT" })
      .sign(this.signingKey)
  }

  /** The same claims, signed by a key the issuer never published but naming the issuer's key id. */
  async forge(idToken: string): Promise<string> {
    const other = await newSigningKey(this.kid)
    return new jose.SignJWT(jose.decodeJwt(idToken))
      .setProtectedHeader({ alg: "RS256", kid: this.kid, typ: "JWT" })
      .sign(other.privateKey)
  }

  close = () => Promise.all(this.servers.map(closeServer)).then(() => undefined)
}

/**
 * A fresh browser at the provider: opens the authorization URL, signs in as `login` on the login page, confirms the
 * consent page, and returns where the provider sends it back (the client's redirect URI with code, state, iss).
 */
export const authorizeAt = async (authUrl: string, login: string, redirectPrefix: string): Promise<URL> => {
  const jar = new Map<string, string>()
  let url = authUrl
  let form: URLSearchParams | undefined
  for (let step = 0; step < 12; step++) {
    const response = await fetch(url, {
      method: form ? "POST" : "GET",
      redirect: "manual",
      headers: {
        cookie: [...jar].map(([name, value]) => `${name}=${value}`).join("; "),
        ...(form ? { "content-type": "application/x-www-form-urlencoded" } : {}),
      },
      body: form?.toString() ?? null,
    })
    for (const line of response.headers.getSetCookie()) {
      const [pair = ""] = line.split(";")
      const at = pair.indexOf("=")
      const name = pair.slice(0, at)
      if (/expires=thu, 01 jan 1970/i.test(line) || /max-age=0/i.test(line)) jar.delete(name)
      else jar.set(name, pair.slice(at + 1))
    }
    form = undefined
    const location = response.headers.get("location")
    if (response.status >= 300 && response.status < 400 && location !== null) {
      url = new URL(location, url).href
      if (url.startsWith(redirectPrefix)) return new URL(url)
      continue
    }
    const html = await response.text()
    const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1]
    const prompt = /name="prompt" value="(\w+)"/.exec(html)?.[1]
    if (response.status !== 200 || action === undefined || prompt === undefined) {
      throw new Error(`unexpected provider page ${response.status} at ${url}: ${html.slice(0, 300)}`)
    }
    url = new URL(action.replaceAll("&amp;", "&"), url).href
    form = new URLSearchParams(prompt === "login" ? { prompt, login, password: "any" } : { prompt })
  }
  throw new Error("the provider never redirected back")
}

// --- GitHub ----------------------------------------------------------------------------------------------------------

export interface GitHubAccount {
  readonly id: number
  readonly login: string
  readonly name: string | null
  /** The public profile address (GitHub's `/user` `email`). */
  readonly email: string | null
  readonly emails: ReadonlyArray<{ email: string; primary: boolean; verified: boolean; visibility: string | null }>
  /** `/user/emails` answers 404 (as when the `user:email` scope was not granted). */
  readonly emailsHidden?: boolean
}

/**
 * GitHub's OAuth app endpoints and REST API as documented: `GET /login/oauth/authorize` (here the user approves at
 * once and is sent back with `code` and `state`), `POST /login/oauth/access_token` (JSON with `Accept:
 * application/json`; errors are 200 with an `error` field), `GET /user`, `GET /user/emails`.
 */
export class GitHubStub {
  readonly accounts = new Map<string, GitHubAccount>()
  /** Who approves at the authorization page. */
  signedIn = ""
  readonly clientId = "Iv1.authsome-test"
  readonly clientSecret = randomBytes(20).toString("hex")
  private readonly codes = new Map<string, { login: string; challenge: string | null; redirectUri: string }>()
  private readonly tokens = new Map<string, string>()

  private constructor(
    readonly origin: string,
    private readonly server: Server,
  ) {}

  static async start(): Promise<GitHubStub> {
    const port = await freePort()
    let self: GitHubStub | undefined
    const server = createServer((request, response) => {
      void self?.handle(request, response)
    })
    await listenOn(server, port)
    self = new GitHubStub(`http://127.0.0.1:${port}`, server)
    return self
  }

  /** The plugin's endpoint overrides (GitHub Enterprise style). */
  get endpoints() {
    return {
      authorizationEndpoint: `${this.origin}/login/oauth/authorize`,
      tokenEndpoint: `${this.origin}/login/oauth/access_token`,
      userinfoEndpoint: `${this.origin}/api/v3/user`,
    }
  }

  private async handle(request: IncomingMessage, response: ServerResponse) {
    const url = new URL(request.url ?? "/", this.origin)
    if (request.method === "GET" && url.pathname === "/login/oauth/authorize") {
      const redirectUri = url.searchParams.get("redirect_uri") ?? ""
      if (url.searchParams.get("client_id") !== this.clientId) return sendJson(response, 404, { message: "Not Found" })
      const code = randomBytes(10).toString("hex")
      this.codes.set(code, { login: this.signedIn, challenge: url.searchParams.get("code_challenge"), redirectUri })
      const back = new URL(redirectUri)
      back.searchParams.set("code", code)
      back.searchParams.set("state", url.searchParams.get("state") ?? "")
      response.writeHead(302, { location: back.href })
      return response.end()
    }
    if (request.method === "POST" && url.pathname === "/login/oauth/access_token") {
      const form = new URLSearchParams((await readBody(request)).toString("utf8"))
      const issued = this.codes.get(form.get("code") ?? "")
      this.codes.delete(form.get("code") ?? "")
      if (form.get("client_id") !== this.clientId || form.get("client_secret") !== this.clientSecret) {
        return sendJson(response, 200, {
          error: "incorrect_client_credentials",
          error_description: "The client_id and/or client_secret passed are incorrect.",
          error_uri:
            "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#incorrect-client-credentials",
        })
      }
      if (
        issued === undefined ||
        issued.redirectUri !== form.get("redirect_uri") ||
        (issued.challenge !== null && issued.challenge !== s256(form.get("code_verifier") ?? ""))
      ) {
        return sendJson(response, 200, {
          error: "bad_verification_code",
          error_description: "The code passed is incorrect or expired.",
          error_uri:
            "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#bad-verification-code",
        })
      }
      const token = `gho_${randomBytes(18).toString("base64url")}`
      this.tokens.set(token, issued.login)
      return sendJson(response, 200, { access_token: token, token_type: "bearer", scope: "read:user,user:email" })
    }
    const login = this.tokens.get((request.headers.authorization ?? "").replace(/^(Bearer|token) /, ""))
    const account = login === undefined ? undefined : this.accounts.get(login)
    if (account === undefined) {
      return sendJson(response, 401, {
        message: "Bad credentials",
        documentation_url: "https://docs.github.com/rest",
        status: "401",
      })
    }
    if (request.method === "GET" && url.pathname === "/api/v3/user") {
      return sendJson(response, 200, {
        login: account.login,
        id: account.id,
        node_id: `U_${account.id}`,
        avatar_url: `https://avatars.githubusercontent.com/u/${account.id}?v=4`,
        html_url: `https://github.com/${account.login}`,
        type: "User",
        site_admin: false,
        name: account.name,
        company: null,
        blog: "",
        location: null,
        email: account.email,
        hireable: null,
        bio: null,
        public_repos: 2,
        followers: 0,
        following: 0,
        created_at: "2020-01-01T00:00:00Z",
        updated_at: "2026-01-01T00:00:00Z",
      })
    }
    if (request.method === "GET" && url.pathname === "/api/v3/user/emails") {
      if (account.emailsHidden) {
        return sendJson(response, 404, {
          message: "Not Found",
          documentation_url:
            "https://docs.github.com/rest/users/emails#list-email-addresses-for-the-authenticated-user",
          status: "404",
        })
      }
      return sendJson(response, 200, account.emails)
    }
    return sendJson(response, 404, { message: "Not Found", documentation_url: "https://docs.github.com/rest" })
  }

  close = () => closeServer(this.server)
}

// --- Google ----------------------------------------------------------------------------------------------------------

export interface GoogleAccount {
  readonly sub: string
  readonly email: string
  readonly email_verified: boolean
  readonly given_name: string
  readonly family_name: string
}

/**
 * Google's OpenID Connect endpoints as documented: the authorization endpoint (approving at once), the token
 * endpoint (access token, `expires_in`, `id_token` signed RS256 with `iss` `https://accounts.google.com`), the
 * userinfo endpoint and the JWKS (`/oauth2/v3/certs`).
 */
export class GoogleStub {
  readonly accounts = new Map<string, GoogleAccount>()
  signedIn = ""
  readonly clientId = "1234567890-authsome.apps.googleusercontent.com"
  readonly clientSecret = `GOCSPX-${randomBytes(14).toString("base64url")}`
  private readonly codes = new Map<
    string,
    { sub: string; challenge: string | null; nonce: string | null; redirectUri: string }
  >()
  private readonly tokens = new Map<string, string>()

  private constructor(
    readonly origin: string,
    private readonly server: Server,
    private readonly key: Awaited<ReturnType<typeof newSigningKey>>,
  ) {}

  static async start(): Promise<GoogleStub> {
    const port = await freePort()
    let self: GoogleStub | undefined
    const server = createServer((request, response) => {
      void self?.handle(request, response)
    })
    await listenOn(server, port)
    self = new GoogleStub(`http://127.0.0.1:${port}`, server, await newSigningKey(randomBytes(20).toString("hex")))
    return self
  }

  get endpoints() {
    return {
      authorizationEndpoint: `${this.origin}/o/oauth2/v2/auth`,
      tokenEndpoint: `${this.origin}/token`,
      userinfoEndpoint: `${this.origin}/v1/userinfo`,
      jwksUri: `${this.origin}/oauth2/v3/certs`,
    }
  }

  private async handle(request: IncomingMessage, response: ServerResponse) {
    const url = new URL(request.url ?? "/", this.origin)
    if (request.method === "GET" && url.pathname === "/oauth2/v3/certs") {
      return sendJson(response, 200, { keys: [this.key.publicJwk] })
    }
    if (request.method === "GET" && url.pathname === "/o/oauth2/v2/auth") {
      const redirectUri = url.searchParams.get("redirect_uri") ?? ""
      const code = `4/0A${randomBytes(20).toString("base64url")}`
      this.codes.set(code, {
        sub: this.signedIn,
        challenge: url.searchParams.get("code_challenge"),
        nonce: url.searchParams.get("nonce"),
        redirectUri,
      })
      const back = new URL(redirectUri)
      back.searchParams.set("state", url.searchParams.get("state") ?? "")
      back.searchParams.set("code", code)
      back.searchParams.set("scope", "email profile openid")
      back.searchParams.set("authuser", "0")
      back.searchParams.set("prompt", "consent")
      response.writeHead(302, { location: back.href })
      return response.end()
    }
    if (request.method === "POST" && url.pathname === "/token") {
      const form = new URLSearchParams((await readBody(request)).toString("utf8"))
      const issued = this.codes.get(form.get("code") ?? "")
      this.codes.delete(form.get("code") ?? "")
      if (form.get("client_id") !== this.clientId || form.get("client_secret") !== this.clientSecret) {
        return sendJson(response, 401, { error: "invalid_client", error_description: "Unauthorized" })
      }
      if (
        issued === undefined ||
        form.get("grant_type") !== "authorization_code" ||
        issued.redirectUri !== form.get("redirect_uri") ||
        (issued.challenge !== null && issued.challenge !== s256(form.get("code_verifier") ?? ""))
      ) {
        return sendJson(response, 400, { error: "invalid_grant", error_description: "Bad Request" })
      }
      const account = this.accounts.get(issued.sub)!
      const accessToken = `ya29.${randomBytes(30).toString("base64url")}`
      this.tokens.set(accessToken, issued.sub)
      const now = Math.floor(Date.now() / 1000)
      const idToken = await new jose.SignJWT({
        iss: "https://accounts.google.com",
        azp: this.clientId,
        aud: this.clientId,
        sub: account.sub,
        email: account.email,
        email_verified: account.email_verified,
        at_hash: createHash("sha256").update(accessToken).digest().subarray(0, 16).toString("base64url"),
        ...(issued.nonce === null ? {} : { nonce: issued.nonce }),
        name: `${account.given_name} ${account.family_name}`,
        picture: "https://lh3.googleusercontent.com/a/test-picture=s96-c",
        given_name: account.given_name,
        family_name: account.family_name,
        iat: now,
        exp: now + 3600,
      })
        .setProtectedHeader({ alg: "RS256", kid: this.key.publicJwk.kid, typ: "JWT" })
        .sign(this.key.privateKey)
      return sendJson(response, 200, {
        access_token: accessToken,
        expires_in: 3599,
        scope: "openid https://www.googleapis.com/auth/userinfo.email https://www.googleapis.com/auth/userinfo.profile",
        token_type: "Bearer",
        id_token: idToken,
      })
    }
    if (request.method === "GET" && url.pathname === "/v1/userinfo") {
      const sub = this.tokens.get((request.headers.authorization ?? "").replace(/^Bearer /, ""))
      const account = sub === undefined ? undefined : this.accounts.get(sub)
      if (account === undefined) {
        return sendJson(
          response,
          401,
          { error: "invalid_request", error_description: "Invalid Credentials" },
          { "www-authenticate": 'Bearer realm="https://accounts.google.com/", error="invalid_token"' },
        )
      }
      return sendJson(response, 200, {
        sub: account.sub,
        name: `${account.given_name} ${account.family_name}`,
        given_name: account.given_name,
        family_name: account.family_name,
        picture: "https://lh3.googleusercontent.com/a/test-picture=s96-c",
        email: account.email,
        email_verified: account.email_verified,
      })
    }
    return sendJson(response, 404, { error: "not_found" })
  }

  close = () => closeServer(this.server)
}

// --- the engine on a known port ---------------------------------------------------------------------------------------

/** Picks the server's port first, so `config(origin)` can name its public URL (the default redirect URIs). */
export const reservePort = async () => {
  const port = await freePort()
  return { port, origin: `http://127.0.0.1:${port}` }
}

/** An engine on PostgreSQL with the real SMTP test server, listening on `port` (rate limits off unless configured). */
export const startServerOn = (port: number, config: AuthsomeOptions) => startServer({ port, config })

/**
 * A browser opening `url` on the engine (the provider's redirect to the callback): sends and keeps the client's
 * cookies like `Client` does, and does not follow the engine's redirect.
 */
export const browserGet = async (client: Client, url: URL | string) => {
  const response = await fetch(url, {
    redirect: "manual",
    headers: { cookie: [...client.jar].map(([name, value]) => `${name}=${value}`).join("; ") },
  })
  for (const line of response.headers.getSetCookie()) {
    const [pair = ""] = line.split(";")
    const at = pair.indexOf("=")
    const name = pair.slice(0, at).trim()
    if (/max-age=0/i.test(line)) client.jar.delete(name)
    else client.jar.set(name, pair.slice(at + 1))
  }
  const text = await response.text()
  let body: any = text
  try {
    body = text === "" ? undefined : JSON.parse(text)
  } catch {}
  return { status: response.status, location: response.headers.get("location"), headers: response.headers, body }
}
