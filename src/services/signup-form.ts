/**
 * The sign-up form of an app (http-api.md §5, `GET/PUT /admin/apps/:id/forms/signup`): typed fields whose values a
 * sign-up submits in `metadata[key]`. Every sign-up of the app is checked against it; each failing field is one
 * `details` entry of a 400 `invalid_request`, and no message repeats the submitted value.
 */
import { Clock, Effect, Either, Schema } from "effect"
import { InvalidRequest } from "../domain/errors.js"
import { newId } from "../domain/ids.js"
import type * as M from "../domain/models.js"
import { FormConfigStore } from "./store/index.js"

export const signUpFormType = "signup"

export const FieldType = Schema.Literal(
  "text",
  "textarea",
  "email",
  "url",
  "phone",
  "number",
  "boolean",
  "select",
  "date",
)
export type FieldType = typeof FieldType.Type

const Bound = Schema.Number.pipe(Schema.finite())
const Length = Schema.Number.pipe(Schema.int(), Schema.between(0, 10_000))

export const FormField = Schema.Struct({
  key: Schema.String.pipe(
    Schema.pattern(/^[a-zA-Z][a-zA-Z0-9_]{0,63}$/, {
      message: () => "must start with a letter and hold only letters, digits and _ (at most 64)",
    }),
  ),
  label: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(200)),
  type: FieldType,
  options: Schema.optional(Schema.Array(Schema.String.pipe(Schema.maxLength(200))).pipe(Schema.maxItems(200))),
  validation: Schema.optionalWith(
    Schema.Struct({
      required: Schema.optional(Schema.Boolean),
      min_len: Schema.optional(Length),
      max_len: Schema.optional(Length),
      pattern: Schema.optional(
        Schema.String.pipe(
          Schema.maxLength(500),
          Schema.filter((source) => Either.isRight(Either.try(() => new RegExp(source, "u"))) || "invalid pattern"),
        ),
      ),
      min: Schema.optional(Bound),
      max: Schema.optional(Bound),
    }),
    { default: () => ({}) },
  ),
}).pipe(
  Schema.filter((field) =>
    field.type === "select" && (field.options === undefined || field.options.length === 0)
      ? { path: ["options"], message: "a select field needs options" }
      : undefined,
  ),
)
export type FormField = typeof FormField.Type

export const SignUpForm = Schema.Struct({
  fields: Schema.Array(FormField).pipe(
    Schema.maxItems(50),
    Schema.filter((fields) => {
      const keys = fields.map((field) => field.key)
      return new Set(keys).size === keys.length || "field keys must be unique"
    }),
  ),
})
export type SignUpForm = typeof SignUpForm.Type

const decodeFields = Schema.decodeUnknownEither(Schema.Array(FormField))

const emailPattern = /^[^\s@<>",;]+@[^\s@<>",;]+\.[^\s@<>",;]+$/
const phonePattern = /^\+?[0-9 ().-]{4,32}$/
const datePattern = /^(\d{4})-(\d{2})-(\d{2})$/

const isDate = (value: string) => {
  const match = datePattern.exec(value)
  if (!match) return false
  const date = new Date(`${value}T00:00:00Z`)
  return !Number.isNaN(date.getTime()) && date.toISOString().startsWith(value)
}

const isHttpUrl = (value: string) => {
  try {
    const url = new URL(value)
    return url.protocol === "https:" || url.protocol === "http:"
  } catch {
    return false
  }
}

const textual = new Set<FieldType>(["text", "textarea", "email", "url", "phone", "select", "date"])

/** What is wrong with one submitted value, or undefined when it is acceptable. */
const problemOf = (field: FormField, value: unknown): string | undefined => {
  const rules = field.validation
  if (value === undefined || value === null || value === "") return rules.required ? "is required" : undefined
  if (textual.has(field.type)) {
    if (typeof value !== "string") return "must be a string"
    const length = [...value].length
    if (rules.min_len !== undefined && length < rules.min_len) return `must be at least ${rules.min_len} characters`
    if (rules.max_len !== undefined && length > rules.max_len) return `must be at most ${rules.max_len} characters`
    if (field.type === "email" && (value.length > 254 || !emailPattern.test(value))) return "must be an email address"
    if (field.type === "url" && (value.length > 2048 || !isHttpUrl(value))) return "must be an http(s) URL"
    if (field.type === "phone" && !phonePattern.test(value)) return "must be a phone number"
    if (field.type === "date" && !isDate(value)) return "must be a date (YYYY-MM-DD)"
    if (field.type === "select" && !(field.options ?? []).includes(value)) return "must be one of the options"
    if (rules.pattern !== undefined && !new RegExp(rules.pattern, "u").test(value)) return "does not match the pattern"
    return undefined
  }
  if (field.type === "number") {
    if (typeof value !== "number" || !Number.isFinite(value)) return "must be a number"
    if (rules.min !== undefined && value < rules.min) return `must be at least ${rules.min}`
    if (rules.max !== undefined && value > rules.max) return `must be at most ${rules.max}`
    return undefined
  }
  if (typeof value !== "boolean") return "must be true or false"
  return rules.required && value !== true ? "must be accepted" : undefined
}

/** The problems of a sign-up's `metadata` against the form's fields, by path (`metadata.<key>`). */
export const validateAgainst = (fields: ReadonlyArray<FormField>, metadata: M.Metadata | undefined) =>
  fields.flatMap((field) => {
    const problem = problemOf(field, metadata?.[field.key])
    return problem === undefined ? [] : [{ path: `metadata.${field.key}`, message: problem }]
  })

export class SignUpForms extends Effect.Service<SignUpForms>()("authsome/SignUpForms", {
  effect: Effect.gen(function* () {
    const forms = yield* FormConfigStore

    /** The app's sign-up fields (none when it has no form). */
    const fieldsOf = (appId: M.App["id"]) =>
      forms.get(appId, signUpFormType).pipe(
        Effect.map((form) =>
          // Stored by `save` after decoding, so a row that no longer decodes is a defect of the data.
          form.active ? Either.getOrThrow(decodeFields(form.fields)) : [],
        ),
        Effect.catchTag("NotFound", () => Effect.succeed<ReadonlyArray<FormField>>([])),
      )

    const get = (appId: M.App["id"]) => Effect.map(fieldsOf(appId), (fields): SignUpForm => ({ fields }))

    const save = (appId: M.App["id"], form: SignUpForm) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        forms.save(
          { appId, formType: signUpFormType, fields: form.fields, active: true },
          newId.formConfig(),
          new Date(now),
        ),
      )

    /** Fails with a 400 naming every field of the app's form that `metadata` does not satisfy. */
    const validate = (appId: M.App["id"], metadata: M.Metadata | undefined) =>
      Effect.flatMap(fieldsOf(appId), (fields) => {
        const details = validateAgainst(fields, metadata)
        return details.length === 0
          ? Effect.void
          : Effect.fail(new InvalidRequest({ message: "the sign-up form is not filled in correctly", details }))
      })

    return { get, save, validate } as const
  }),
}) {}
