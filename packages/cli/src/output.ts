/**
 * Writing to stdout and stderr. Values go out byte-exact as Buffers, and every write waits for
 * the stream to accept more (backpressure), so a large `get` or `ls` piped into a slow reader
 * neither buffers without bound nor loses its tail when the process ends.
 *
 * @module
 */
import type { Writable } from 'node:stream'

/** Writes `chunk` to `stream`, resolving once it is flushed or the stream can take more. */
export function write(stream: Writable, chunk: Uint8Array | string): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.write(chunk, (error) => (error ? reject(error) : resolve()))
  })
}

/**
 * Buffers small writes into larger chunks (many short lines make many syscalls otherwise) and
 * waits for `drain` when the stream's buffer is full.
 */
export class LineWriter {
  readonly #stream: Writable
  #pending: string[] = []
  #size = 0
  readonly #chunkSize: number
  #failure: Error | undefined

  constructor(stream: Writable, chunkSize = 64 * 1024) {
    this.#stream = stream
    this.#chunkSize = chunkSize
    // A write error (a full disk, a closed pipe) is raised by the next write or flush.
    stream.on('error', (error) => {
      this.#failure ??= error
    })
  }

  /** Queues `text`; flushes when a chunk is full. */
  async write(text: string): Promise<void> {
    if (this.#failure !== undefined) throw this.#failure
    if (text.length >= this.#chunkSize) {
      // A large text goes out on its own: joined with what waits, a line near the longest string
      // Node.js makes (an export line of a huge value) would pass it. Both writes are made before
      // any await, so that output keeps the order of the calls.
      if (this.#pending.length > 0) this.#stream.write(this.#take())
      if (!this.#stream.write(text)) await drained(this.#stream)
      return
    }
    this.#pending.push(text)
    this.#size += text.length
    if (this.#size >= this.#chunkSize) await this.flush()
  }

  /** Hands everything queued to the stream and waits until it accepts more. */
  async flush(): Promise<void> {
    if (this.#failure !== undefined) throw this.#failure
    if (this.#pending.length === 0) return
    if (!this.#stream.write(this.#take())) await drained(this.#stream)
  }

  /** What waits, as one chunk; nothing waits after. */
  #take(): string {
    const chunk = this.#pending.join('')
    this.#pending = []
    this.#size = 0
    return chunk
  }
}

function drained(stream: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (error?: Error): void => {
      stream.off('drain', onDrain)
      stream.off('error', done)
      stream.off('close', onClose)
      error ? reject(error) : resolve()
    }
    const onDrain = (): void => done()
    const onClose = (): void => done(new Error('the output stream closed'))
    stream.once('drain', onDrain)
    stream.once('error', done)
    stream.once('close', onClose)
  })
}

/** Prints `value` as one line of JSON on stdout. */
export function printJson(value: unknown): Promise<void> {
  return write(process.stdout, `${JSON.stringify(value)}\n`)
}

/** Prints a line of text on stdout. */
export function printLine(text: string): Promise<void> {
  return write(process.stdout, `${text}\n`)
}

/** Formats a count with thousands separators (`1,000,000`). */
export function count(n: number): string {
  return n.toLocaleString('en-US')
}

/** `n` and the noun that goes with it: `1 entry`, `2 entries`. */
export function counted(n: number, one: string, many: string): string {
  return `${count(n)} ${n === 1 ? one : many}`
}
