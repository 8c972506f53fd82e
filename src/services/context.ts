import type * as M from "../domain/models.js"

/** Who is asking, resolved once per request: the tenant and the client's address and agent. */
export interface ClientContext {
  readonly app: M.App
  readonly env: M.Environment
  readonly ip: string | null
  readonly userAgent: string | null
}
