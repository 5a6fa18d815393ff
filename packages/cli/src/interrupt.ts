/**
 * Stopping long work cleanly. While a long command runs, the first Ctrl-C (SIGINT) or SIGTERM
 * asks it to stop: it issues no new writes, waits for those in flight, closes the stores and
 * exits with 130 (SIGINT) or 143 (SIGTERM). A second signal exits at once, after the cleanups
 * registered with {@link Interrupt.atForcedExit} (removing a partial export file).
 *
 * @module
 */
import { CliError, ExitCode } from './exit-codes.js'

/** A stop request, checked by long loops between steps. */
export class Interrupt {
  #signal: 'SIGINT' | 'SIGTERM' | undefined
  readonly #listeners = new Map<NodeJS.Signals, () => void>()
  readonly #onStop: (() => void) | undefined
  readonly #exit: (code: number) => void
  readonly #cleanups: (() => void)[] = []

  /**
   * Starts listening for SIGINT and SIGTERM; `onStop` runs on the first one (to print a note).
   * `exit` ends the process on the second (a test passes its own).
   */
  constructor(onStop?: () => void, exit: (code: number) => void = process.exit) {
    this.#onStop = onStop
    this.#exit = exit
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      const listener = (): void => this.#receive(signal)
      this.#listeners.set(signal, listener)
      process.on(signal, listener)
    }
  }

  #receive(signal: 'SIGINT' | 'SIGTERM'): void {
    if (this.#signal !== undefined) {
      process.stderr.write('kv: second interrupt, exiting without waiting\n')
      for (const cleanup of this.#cleanups.splice(0)) {
        try {
          cleanup()
        } catch {
          // Exiting anyway: a cleanup that fails must not keep the others from running.
        }
      }
      this.#exit(signal === 'SIGINT' ? ExitCode.INTERRUPTED : ExitCode.TERMINATED)
      return
    }
    this.#signal = signal
    this.#onStop?.()
  }

  /**
   * Registers `cleanup` to run, synchronously, if a second signal ends the process without
   * waiting (the work in flight and the normal error handling never get to run then).
   */
  atForcedExit(cleanup: () => void): void {
    this.#cleanups.push(cleanup)
  }

  /** Whether a stop was requested. */
  get requested(): boolean {
    return this.#signal !== undefined
  }

  /** The error to end with once the work has stopped: exit 130 or 143 with `message`. */
  error(message: string): CliError {
    return new CliError(
      this.#signal === 'SIGTERM' ? ExitCode.TERMINATED : ExitCode.INTERRUPTED,
      `interrupted: ${message}`,
    )
  }

  /** Stops listening; the default signal behaviour comes back. */
  dispose(): void {
    for (const [signal, listener] of this.#listeners) process.off(signal, listener)
    this.#listeners.clear()
  }
}
