/** The built-in plugins' parts of the conformance suite, run on every backend with the core's. */
import { conformance as mfa } from "../../src/plugins/mfa/conformance.js"
import { conformance as passkey } from "../../src/plugins/passkey/conformance.js"
import { conformance as password } from "../../src/plugins/password/conformance.js"
import { conformance as social } from "../../src/plugins/social/conformance.js"

export const builtInConformance = [password, mfa, passkey, social]
