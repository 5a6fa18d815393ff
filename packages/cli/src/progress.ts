/**
 * Progress of long work (export, import, migrate) on stderr: a bar with rate and ETA when stderr
 * is a terminal, plain periodic lines otherwise (logs, CI, pipes), nothing with `--no-progress`.
 *
 * Counting is cheap (`advance` only adds); drawing happens on a timer, so the work loop never
 * waits for the terminal.
 *
 * @module
 */
import { MAX_TIMER_MS } from '@kv/core'
import type { SingleBar } from 'cli-progress'
import { count, counted } from './output.js'

/** How progress is shown. */
export type ProgressMode = 'bar' | 'lines' | 'off'

/** The mode for this process: `off` when disabled, else `bar` on a terminal, else `lines`. */
export function progressMode(
  enabled: boolean,
  stream: NodeJS.WriteStream = process.stderr,
): ProgressMode {
  if (!enabled) return 'off'
  return stream.isTTY ? 'bar' : 'lines'
}

/**
 * Milliseconds between plain progress lines: `KV_PROGRESS_INTERVAL_MS`, default 1000 (also for a
 * value under 10 or not a number), at most {@link MAX_TIMER_MS}: a longer timer is not clamped by
 * Node.js but fires every millisecond, which would flood stderr.
 */
export function lineInterval(): number {
  const value = Number(process.env.KV_PROGRESS_INTERVAL_MS)
  return Number.isFinite(value) && value >= 10 ? Math.min(value, MAX_TIMER_MS) : 1000
}

/** Seconds as `1h02m`, `3m05s` or `12s`. */
export function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?'
  const s = Math.max(0, Math.round(seconds))
  if (s >= 3600)
    return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`
  if (s >= 60) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
  return `${s}s`
}

/** What a {@link Progress} reports on. */
export interface ProgressOptions {
  /** The command, for example `migrate`. */
  label: string
  /** How the work is shown. */
  mode: ProgressMode
  /** Where it is shown (stderr). */
  stream?: NodeJS.WriteStream
  /** How `units` are shown when they are not entries (`bytes` for import). */
  unitFormat?: (units: number) => string
}

/**
 * A progress display. `done`/`total` are in units (entries, or bytes of input for import) and
 * drive the percentage and ETA; `entries` drives the rate.
 */
export class Progress {
  readonly #options: ProgressOptions
  readonly #stream: NodeJS.WriteStream
  #total: number | undefined
  #entries = 0
  #units = 0
  #started = 0
  #timer: NodeJS.Timeout | undefined
  #bar: SingleBar | undefined

  constructor(options: ProgressOptions) {
    this.#options = options
    this.#stream = options.stream ?? process.stderr
  }

  /** Entries counted so far. */
  get entries(): number {
    return this.#entries
  }

  /** Starts showing progress towards `total` units (unknown: no percentage or ETA). */
  async start(total: number | undefined): Promise<void> {
    this.#total = total
    this.#started = performance.now()
    if (this.#options.mode === 'bar') {
      const { default: progress } = await import('cli-progress')
      this.#bar = new progress.SingleBar(
        {
          stream: this.#stream,
          format: `${this.#options.label} [{bar}] {percentage}% | {done} | {rate}/s | ETA {etaText}`,
          hideCursor: true,
          barsize: 30,
          fps: 10,
        },
        progress.Presets.shades_classic,
      )
      this.#bar.start(total ?? 1, 0, this.#payload())
      this.#timer = setInterval(() => this.#bar?.update(this.#units, this.#payload()), 100)
    } else if (this.#options.mode === 'lines') {
      this.#line()
      this.#timer = setInterval(() => this.#line(), lineInterval())
    }
    this.#timer?.unref()
  }

  /** Counts `entries` more entries and `units` more units of work. */
  advance(entries: number, units: number = entries): void {
    this.#entries += entries
    this.#units += units
  }

  /** Stops the display, drawing the final state. */
  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer)
    this.#timer = undefined
    if (this.#bar !== undefined) {
      this.#bar.update(this.#units, this.#payload())
      this.#bar.stop()
      this.#bar = undefined
    } else if (this.#options.mode === 'lines' && this.#started !== 0) {
      this.#line()
    }
    this.#started = 0
  }

  #rates(): { rate: number; eta: number } {
    const seconds = (performance.now() - this.#started) / 1000
    const rate = seconds > 0 ? this.#entries / seconds : 0
    const unitRate = seconds > 0 ? this.#units / seconds : 0
    const left = this.#total === undefined ? Number.NaN : Math.max(0, this.#total - this.#units)
    return { rate, eta: unitRate > 0 ? left / unitRate : Number.NaN }
  }

  #done(): string {
    const format = this.#options.unitFormat
    if (format !== undefined) {
      const of = this.#total === undefined ? '' : ` of ${format(this.#total)}`
      return `${counted(this.#entries, 'entry', 'entries')}, ${format(this.#units)}${of}`
    }
    if (this.#total === undefined) return counted(this.#entries, 'entry', 'entries')
    return `${count(this.#entries)}/${counted(this.#total, 'entry', 'entries')}`
  }

  #payload(): Record<string, string> {
    const { rate, eta } = this.#rates()
    return { done: this.#done(), rate: count(Math.round(rate)), etaText: duration(eta) }
  }

  #line(): void {
    const { rate, eta } = this.#rates()
    const percent =
      this.#total === undefined || this.#total === 0
        ? ''
        : ` (${Math.floor((100 * this.#units) / this.#total)}%)`
    const etaText = Number.isNaN(eta) ? '' : `, ETA ${duration(eta)}`
    this.#stream.write(
      `kv ${this.#options.label}: ${this.#done()}${percent}, ${count(Math.round(rate))} entries/s${etaText}\n`,
    )
  }
}
