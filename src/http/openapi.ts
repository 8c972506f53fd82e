/** The OpenAPI 3.1 document, generated from the route definitions (core and plugins alike). */
import { JSONSchema, Schema } from "effect"
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

export const makeOpenApi = (
  routes: ReadonlyArray<Route>,
  errors: ReadonlyArray<ErrorDeclaration>,
  info: { basePath: string; version: string },
) => {
  const errorStatuses = describeErrorStatuses(errors)
  const definitions: Record<string, JSONSchema.JsonSchema7> = {}
  const toJsonSchema = (schema: Schema.Schema.Any) =>
    JSONSchema.fromAST(Schema.encodedSchema(schema).ast, {
      definitions,
      definitionPath: "#/components/schemas/",
      target: "openApi3.1",
      additionalPropertiesStrategy: "allow",
    })
  const errorSchema = toJsonSchema(ErrorJson)
  const paths: Record<string, Record<string, unknown>> = {}
  for (const route of routes) {
    const path = `${info.basePath}${route.path}`.replace(/:([A-Za-z_]+)/g, "{$1}")
    const parameters = [...route.path.matchAll(/:([A-Za-z_]+)/g)].map((m) => ({
      name: m[1],
      in: "path",
      required: true,
      schema: { type: "string" },
    }))
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
      ...(route.auth === "session"
        ? { security: [{ bearer: [] }, { sessionCookie: [] }, ...(route.apiKeys ? [{ apiKey: [] }] : [])] }
        : {}),
      ...(route.requires ? { "x-authsome-requires": formatPermission(route.requires) } : {}),
      responses,
    }
  }
  return {
    openapi: "3.1.0",
    info: { title: "Authsome", version: info.version },
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
        publishableKey: { type: "apiKey", in: "header", name: "X-Publishable-Key" },
      },
    },
  }
}
