/** The OpenAPI 3.1 document, generated from the route definitions (core and plugins alike). */
import { JSONSchema, Schema } from "effect"
import type { Route } from "./route.js"
import { ErrorJson } from "./schemas.js"

const errorStatuses: Record<number, string> = {
  400: "invalid_request, weak_password or invalid_code",
  401: "unauthorized, invalid_credentials or session_expired",
  403: "forbidden, csrf_rejected, email_not_verified, mfa_required or user_banned",
  404: "not_found",
  409: "email_taken, username_taken, slug_taken or conflict",
  413: "payload_too_large",
  415: "unsupported_media_type",
  429: "rate_limited, account_locked or too_many_attempts",
  500: "internal_error",
  503: "unavailable",
}

export const makeOpenApi = (routes: ReadonlyArray<Route>, info: { basePath: string; version: string }) => {
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
      ...(route.auth === "session" ? { security: [{ bearer: [] }, { sessionCookie: [] }] } : {}),
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
        bearer: { type: "http", scheme: "bearer", description: "session token" },
        sessionCookie: { type: "apiKey", in: "cookie", name: "authsome_session_token" },
        publishableKey: { type: "apiKey", in: "header", name: "X-Publishable-Key" },
      },
    },
  }
}
