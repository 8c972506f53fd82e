import type { HttpKit } from "./http/kit.js"
import type { Accounts } from "./services/accounts.js"
import type { Audit } from "./services/audit.js"
import type { AuthConfig } from "./services/config.js"
import type { Devices } from "./services/devices.js"
import type { MailQueue } from "./services/mail/index.js"
import type { PluginRegistry } from "./services/plugin-registry.js"
import type { RateLimiter } from "./services/rate-limit.js"
import type { Sessions } from "./services/sessions.js"
import type { SignIn } from "./services/sign-in.js"
import type { StoreServices } from "./services/store/index.js"
import type { Tenancy } from "./services/tenancy.js"

/** The services the engine adds on top of the store. */
export type EngineServices =
  | AuthConfig
  | Tenancy
  | Audit
  | RateLimiter
  | Devices
  | Sessions
  | SignIn
  | Accounts
  | MailQueue
  | HttpKit
  | PluginRegistry

/** The services every plugin can build on. */
export type CoreServices = StoreServices | EngineServices
