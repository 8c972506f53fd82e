/** The built-in plugins' parts of the conformance suite, run on every backend with the core's. */
import * as Mfa from "../../src/plugins/mfa/index.js"
import * as Passkey from "../../src/plugins/passkey/index.js"
import * as Password from "../../src/plugins/password/index.js"
import * as Social from "../../src/plugins/social/index.js"

export const builtInConformance = [Password.conformance, Mfa.conformance, Passkey.conformance, Social.conformance]
