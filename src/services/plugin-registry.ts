/**
 * The plugins' hooks, registered by the engine once each plugin is built, and read by the core where they apply
 * (sign-in gates, data export). Core services never import a plugin.
 */
import { Effect, Ref } from "effect"
import type * as M from "../domain/models.js"
import type { PluginHooks } from "../plugin.js"

export class PluginRegistry extends Effect.Service<PluginRegistry>()("authsome/PluginRegistry", {
  effect: Effect.gen(function* () {
    const hooks = yield* Ref.make<ReadonlyArray<PluginHooks>>([])
    const register = (pluginHooks: PluginHooks) => Ref.update(hooks, (all) => [...all, pluginHooks])
    const all = Ref.get(hooks)
    /** Every plugin's contribution to the user's data export, merged. */
    const exportUserData = (user: M.User) =>
      Effect.flatMap(all, (list) =>
        Effect.reduce(list, {} as Record<string, unknown>, (acc, hook) =>
          hook.exportUserData
            ? Effect.map(hook.exportUserData(user), (part) => ({ ...acc, ...part }))
            : Effect.succeed(acc),
        ),
      )
    return { register, all, exportUserData } as const
  }),
}) {}
