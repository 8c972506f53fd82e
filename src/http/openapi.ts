/** The OpenAPI 3.1 document, generated from the route definitions (core and plugins alike). */
import { JSONSchema, type Schema } from "effect"
import { formatPermission } from "../domain/permissions.js"
import type { ErrorDeclaration } from "../plugin/errors.js"
import type { Route } from "../plugin/route.js"
import { internalErrorDescriptions } from "./errors.js"
import { ErrorJson } from "./schemas.js"

/** Per status, the error `type`s that may answer it, from the declarations (core and plugins). */
const describeErrorStatuses = (declarations: ReadonlyArray<ErrorDeclaration>) => {
  const byStatus = new Map<number, Map<string, string>>()
  for (const declaration of declarations) {
    const types = byStatus.get(declaration.status) ?? new Map<string, string>()
    types.set(declaration.type, `${declaration.type}: ${declaration.description}`)
    byStatus.set(declaration.status, types)
  }
  const described: Record<number, string> = {}
  for (const [status, types] of [...byStatus].sort(([a], [b]) => a - b)) {
    described[status] = [...types.values()].join("; ")
  }
  for (const [status, text] of Object.entries(internalErrorDescriptions)) {
    described[Number(status)] = described[Number(status)] ? `${described[Number(status)]}; ${text}` : text
  }
  return described
}

/**
 * Effect's JSON Schema marks `Schema.Unknown` (and a few others) with a fixed `$id` such as `/schemas/unknown`;
 * repeated across the document, they are duplicate ids, which JSON Schema 2020-12 forbids. They carry no meaning:
 * dropped.
 */
const withoutFixedIds = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(withoutFixedIds)
  if (typeof value !== "object" || value === null) return value
  const out: Record<string, unknown> = {}
  for (const [key, child] of Object.entries(value)) {
    if (key === "$id" && typeof child === "string" && child.startsWith("/schemas/")) continue
    out[key] = withoutFixedIds(child)
  }
  return out
}

/** What the core's route groups are; a plugin's group is named after the plugin. */
const tagDescriptions: Readonly<Record<string, string>> = {
  Accounts: "Email verification, the signed-in user's profile, data export and deletion",
  Devices: "The devices the user signed in from",
  Meta: "Health, client configuration and this document",
  Password: "Sign-up and sign-in with a password; forgotten, reset and changed passwords",
  Sessions: "Session validation, refresh-token rotation, sign-out and session management",
}

/** Who may call: with a session, or anyone (the app chosen by its publishable key, or the default app). */
const sessionSecurity = [{ bearer: [] }, { sessionCookie: [] }]
const publicSecurity = [{}, { publishableKey: [] }]

export const makeOpenApi = (
  routes: ReadonlyArray<Route>,
  errors: ReadonlyArray<ErrorDeclaration>,
  info: { basePath: string; version: string },
) => {
  const errorStatuses = describeErrorStatuses(errors)
  const definitions: Record<string, JSONSchema.JsonSchema7> = {}
  // The schema as it is on the wire: the encoded side of transformations, with the rules the server enforces.
  const toJsonSchema = (schema: Schema.Schema.Any) =>
    JSONSchema.fromAST(schema.ast, {
      definitions,
      definitionPath: "#/components/schemas/",
      target: "openApi3.1",
      additionalPropertiesStrategy: "allow",
    })
  const errorSchema = toJsonSchema(ErrorJson)
  const paths: Record<string, Record<string, unknown>> = {}
  const tags = new Set<string>()
  for (const route of routes) {
    if (route.undocumented) continue
    tags.add(route.tag)
    const path = `${info.basePath}${route.path}`.replace(/:([A-Za-z_]+)/g, "{$1}")
    const parameters = [
      ...[...route.path.matchAll(/:([A-Za-z_]+)/g)].map((m) => ({
        name: m[1],
        in: "path",
        required: true,
        schema: { type: "string", maxLength: 256 },
      })),
      ...route.query.map((parameter) => ({
        name: parameter.name,
        in: "query",
        required: false,
        description: parameter.description,
        schema: { type: "string" },
      })),
    ]
    const responses: Record<string, unknown> = {}
    for (const [status, spec] of Object.entries(route.responses)) {
      responses[status] = {
        description: spec.description,
        ...(spec.schema ? { content: { "application/json": { schema: toJsonSchema(spec.schema) } } } : {}),
      }
    }
    if (route.requires !== undefined) {
      const permission = formatPermission(route.requires)
      responses["403"] = {
        description: `forbidden: the caller (and an API key's scopes) lack the permission \`${permission}\``,
        content: { "application/json": { schema: errorSchema } },
      }
    }
    for (const [status, description] of Object.entries(errorStatuses)) {
      responses[status] ??= { description, content: { "application/json": { schema: errorSchema } } }
    }
    paths[path] ??= {}
    paths[path]![route.method.toLowerCase()] = {
      operationId: `${route.method.toLowerCase()}${route.path.replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string | undefined) => (c ? c.toUpperCase() : ""))}`,
      summary: route.summary,
      ...(route.description ? { description: route.description } : {}),
      tags: [route.tag],
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(route.body
        ? { requestBody: { required: true, content: { "application/json": { schema: toJsonSchema(route.body) } } } }
        : {}),
      security:
        route.auth === "session"
          ? [...sessionSecurity, ...(route.apiKeys ? [{ apiKey: [] }] : [])]
          : route.tenantless
            ? []
            : publicSecurity,
      ...(route.requires ? { "x-authsome-requires": formatPermission(route.requires) } : {}),
      responses,
    }
  }
  return withoutFixedIds({
    openapi: "3.1.0",
    info: {
      title: "Authsome",
      version: info.version,
      description:
        "Authentication API. Every route also answers HEAD for GET. Errors share one envelope " +
        "`{error, code, type}`; the `type`s of each status are listed with it.",
      license: { name: "MIT", identifier: "MIT" },
    },
    servers: [{ url: "/", description: "the server that serves this document" }],
    tags: [...tags].map((name) => ({ name, description: tagDescriptions[name] ?? `The ${name} routes` })),
    paths,
    components: {
      schemas: definitions,
      securitySchemes: {
        bearer: {
          type: "http",
          scheme: "bearer",
          description: "a session token, or an API key (`sk_live_...`) where the route accepts `apiKey`",
        },
        apiKey: { type: "apiKey", in: "header", name: "X-API-Key", description: "an API key (`sk_live_...`)" },
        sessionCookie: { type: "apiKey", in: "cookie", name: "authsome_session_token" },
        publishableKey: {
          type: "apiKey",
          in: "header",
          name: "X-Publishable-Key",
          description: "selects the app (public); without it, the default app",
        },
      },
    },
  }) as OpenApiDocument
}

/** The served document's shape (the `/openapi.json` route documents it as `OpenApiDocument`). */
export interface OpenApiDocument {
  readonly openapi: string
  readonly info: { readonly title: string; readonly version: string }
  readonly paths: Readonly<Record<string, Readonly<Record<string, unknown>>>>
  readonly components: { readonly schemas: Readonly<Record<string, unknown>> }
}
