import { Effect } from "effect"

/**
 * How many API requests this instance has started. The webhook dispatcher yields to API traffic, and this tells it
 * apart from its own work (both make the event loop busy). One counter per layer graph: the pipeline counts, the
 * dispatcher reads.
 */
export class RequestActivity extends Effect.Service<RequestActivity>()("authsome/RequestActivity", {
  sync: () => {
    let started = 0
    return {
      started: () => {
        started++
      },
      count: () => started,
    }
  },
}) {}
