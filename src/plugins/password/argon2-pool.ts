/**
 * argon2id on a small pool of worker threads running at a low scheduling priority (Linux `nice`), so a flood of
 * sign-ins uses the CPU the rest of the server leaves idle instead of competing with the event loop: session checks
 * stay fast while hashes queue. Elsewhere (no per-thread priority) the workers simply run at normal priority.
 */
import { createRequire } from "node:module"
import { Worker } from "node:worker_threads"
import type { Options } from "@node-rs/argon2"

// The worker is CommonJS source (not a file), so it works from `src/` under vitest, from `dist/` and from the bundle.
const workerSource = `
const { parentPort, workerData } = require("node:worker_threads")
try {
  const tid = Number(require("node:fs").readlinkSync("/proc/thread-self").split("/").pop())
  require("node:os").setPriority(tid, workerData.nice)
} catch {}
const argon2 = require(workerData.argon2)
parentPort.on("message", (task) => {
  try {
    const result = task.op === "hash" ? argon2.hashSync(task.input, task.options) : argon2.verifySync(task.phc, task.input)
    parentPort.postMessage({ id: task.id, result })
  } catch (error) {
    parentPort.postMessage({ id: task.id, error: error instanceof Error ? error.message : "argon2 failed" })
  }
})
`

type Task =
  | { readonly op: "hash"; readonly input: string | Uint8Array; readonly options: Options }
  | { readonly op: "verify"; readonly phc: string; readonly input: string }

interface Pending {
  readonly task: Task
  readonly resolve: (value: string | boolean) => void
  readonly reject: (error: Error) => void
}

/** When the workers start if no task came first. */
const startAfterMs = 2_000

/** The pool's queue is full: the task was refused at once instead of waiting behind the others. */
export class Argon2QueueFull extends Error {
  constructor() {
    super("argon2 queue full")
  }
}

export interface Argon2Pool {
  readonly hash: (input: string | Uint8Array, options: Options) => Promise<string>
  readonly verify: (phc: string, input: string) => Promise<boolean>
  readonly close: () => Promise<void>
}

/**
 * `size` workers; at most `maxQueued` tasks wait for one (more are refused with `Argon2QueueFull`), so a flood of
 * password requests cannot queue unbounded work ahead of everyone else's.
 */
export const makeArgon2Pool = (size: number, nice: number, maxQueued: number): Argon2Pool => {
  const argon2 = createRequire(import.meta.url).resolve("@node-rs/argon2")
  const queue: Array<Pending> = []
  const idle: Array<Worker> = []
  const running = new Map<Worker, Pending>()
  let nextId = 0
  let closed = false

  const dispatch = () => {
    while (idle.length > 0 && queue.length > 0) {
      const worker = idle.pop()!
      const pending = queue.shift()!
      running.set(worker, pending)
      worker.postMessage({ id: nextId++, ...pending.task })
    }
  }

  const spawn = () => {
    // The workers only call into native code: small heaps keep the pool's memory to the hashes themselves.
    const worker = new Worker(workerSource, {
      eval: true,
      workerData: { argon2, nice },
      resourceLimits: { maxYoungGenerationSizeMb: 1, maxOldGenerationSizeMb: 8, codeRangeSizeMb: 2, stackSizeMb: 1 },
    })
    worker.unref()
    worker.on("message", (message: { result?: string | boolean; error?: string }) => {
      const pending = running.get(worker)
      running.delete(worker)
      idle.push(worker)
      if (pending) {
        if (message.error !== undefined) pending.reject(new Error(`argon2 failed: ${message.error}`))
        else pending.resolve(message.result!)
      }
      dispatch()
    })
    worker.on("error", (error) => {
      running.get(worker)?.reject(new Error(`argon2 worker failed: ${error.message}`))
      running.delete(worker)
      if (!closed) {
        spawn()
        dispatch()
      }
    })
    idle.push(worker)
  }
  // Started at the first task, or 2 s after the pool is made (a server's start-up is over by then): booting a worker
  // and loading the native library costs ~100 ms of CPU each, which would otherwise compete with migrations and
  // building the layers.
  let started = false
  const start = () => {
    if (started || closed) return
    started = true
    clearTimeout(startLater)
    for (let i = 0; i < size; i++) spawn()
  }
  const startLater = setTimeout(start, startAfterMs)
  startLater.unref()

  const submit = <A extends string | boolean>(task: Task) =>
    new Promise<A>((resolve, reject) => {
      if (closed) return reject(new Error("argon2 pool closed"))
      start()
      if (idle.length === 0 && queue.length >= maxQueued) return reject(new Argon2QueueFull())
      queue.push({ task, resolve: resolve as (value: string | boolean) => void, reject })
      dispatch()
    })

  return {
    hash: (input, options) => submit<string>({ op: "hash", input, options }),
    verify: (phc, input) => submit<boolean>({ op: "verify", phc, input }),
    close: async () => {
      closed = true
      clearTimeout(startLater)
      for (const pending of queue.splice(0)) pending.reject(new Error("argon2 pool closed"))
      await Promise.all([...idle, ...running.keys()].map((worker) => worker.terminate()))
    },
  }
}
