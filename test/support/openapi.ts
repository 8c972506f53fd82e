/**
 * The served OpenAPI document as a test tool: its schemas compiled under JSON Schema 2020-12 (Ajv, strict), and
 * fast-check arbitraries that generate values from them (the subset of JSON Schema the document uses).
 */
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js"
import fc from "fast-check"

export interface Document {
  readonly openapi: string
  readonly servers: ReadonlyArray<{ readonly url: string }>
  readonly paths: Record<string, Record<string, Operation>>
  readonly components: { readonly schemas: Record<string, JsonSchema> }
}

export interface Operation {
  readonly operationId: string
  readonly security: ReadonlyArray<Record<string, ReadonlyArray<string>>>
  readonly parameters?: ReadonlyArray<{
    readonly name: string
    readonly in: "path" | "query"
    readonly schema: JsonSchema
  }>
  readonly requestBody?: { readonly content: { readonly "application/json": { readonly schema: JsonSchema } } }
  readonly responses: Record<
    string,
    { readonly content?: { readonly "application/json": { readonly schema: JsonSchema } } }
  >
}

export type JsonSchema = Record<string, any>

const dateTime = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/i

/** Every `#/components/schemas/X` as `#/$defs/X`, so each schema compiles on its own with the components. */
const localRefs = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(localRefs)
  if (typeof value !== "object" || value === null) return value
  return Object.fromEntries(
    Object.entries(value).map(([key, child]) => [
      key,
      key === "$ref" && typeof child === "string"
        ? child.replace("#/components/schemas/", "#/$defs/")
        : localRefs(child),
    ]),
  )
}

/** Strict Ajv (2020-12) over the document's schemas: unknown keywords, bad patterns and duplicate ids all throw. */
export const makeValidators = (document: Document) => {
  const ajv = new Ajv2020({ strict: true, allErrors: true })
  ajv.addFormat("date-time", {
    type: "string",
    validate: (value: string) => dateTime.test(value) && !Number.isNaN(Date.parse(value)),
  })
  ajv.addFormat("email", true)
  ajv.addFormat("password", true)
  const defs = localRefs(document.components.schemas)
  const compiled = new Map<JsonSchema, ValidateFunction>()
  const validator = (schema: JsonSchema): ValidateFunction => {
    const known = compiled.get(schema)
    if (known !== undefined) return known
    const validate = ajv.compile({ ...(localRefs(schema) as object), $defs: defs })
    compiled.set(schema, validate)
    return validate
  }
  return { ajv, validator }
}

/** Every schema object the document holds: the components, request bodies and responses, with where they are. */
export const schemasOf = (document: Document): Array<readonly [string, JsonSchema]> => {
  const all: Array<readonly [string, JsonSchema]> = Object.entries(document.components.schemas).map(
    ([name, schema]) => [`#/components/schemas/${name}`, schema] as const,
  )
  for (const [path, operations] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      const body = operation.requestBody?.content["application/json"].schema
      if (body) all.push([`${method.toUpperCase()} ${path} request`, body])
      for (const [status, response] of Object.entries(operation.responses)) {
        const schema = response.content?.["application/json"].schema
        if (schema) all.push([`${method.toUpperCase()} ${path} ${status}`, schema])
      }
    }
  }
  return all
}

/** Any JSON value, a few levels deep. */
export const anyJson = fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<unknown>

/**
 * Values of a JSON schema (the keywords the document uses: type, enum, pattern, lengths, properties, required,
 * anyOf, items, $ref), to be valid most of the time; optional properties come and go.
 */
export const arbitraryOf = (
  schema: JsonSchema,
  components: Record<string, JsonSchema>,
  depth = 0,
): fc.Arbitrary<unknown> => {
  if (schema["$ref"]) {
    const name = String(schema["$ref"]).replace("#/components/schemas/", "")
    return arbitraryOf(components[name] ?? {}, components, depth + 1)
  }
  if (depth > 6) return fc.constant(null)
  if (Array.isArray(schema["enum"])) return fc.constantFrom(...(schema["enum"] as Array<unknown>))
  if (Array.isArray(schema["anyOf"])) {
    return fc.oneof(...(schema["anyOf"] as Array<JsonSchema>).map((s) => arbitraryOf(s, components, depth + 1)))
  }
  switch (schema["type"]) {
    case "null":
      return fc.constant(null)
    case "boolean":
      return fc.boolean()
    case "integer":
      return fc.integer({ min: -1_000, max: 1_000_000 })
    case "number":
      return fc.double({ noNaN: true, noDefaultInfinity: true })
    case "string": {
      if (schema["format"] === "date-time") return fc.date({ noInvalidDate: true }).map((d) => d.toISOString())
      const minLength = (schema["minLength"] as number | undefined) ?? 0
      const maxLength = Math.min((schema["maxLength"] as number | undefined) ?? 64, 300)
      if (typeof schema["pattern"] === "string") {
        return fc
          .stringMatching(new RegExp(schema["pattern"] as string))
          .filter((s) => s.length >= minLength && s.length <= ((schema["maxLength"] as number | undefined) ?? Infinity))
      }
      return fc.string({ minLength, maxLength, unit: "grapheme" })
    }
    case "array":
      return fc.array(schema["items"] ? arbitraryOf(schema["items"] as JsonSchema, components, depth + 1) : anyJson, {
        maxLength: 4,
      })
    case "object": {
      const properties = (schema["properties"] ?? {}) as Record<string, JsonSchema>
      const required = new Set((schema["required"] ?? []) as Array<string>)
      const entries = Object.entries(properties)
      if (entries.length === 0) return fc.dictionary(fc.string({ maxLength: 12 }), anyJson, { maxKeys: 4 })
      return fc.record(
        Object.fromEntries(entries.map(([key, property]) => [key, arbitraryOf(property, components, depth + 1)])),
        { requiredKeys: entries.map(([key]) => key).filter((key) => required.has(key)) },
      )
    }
    default:
      return anyJson
  }
}
