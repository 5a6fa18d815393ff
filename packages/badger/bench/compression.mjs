// Does LevelDB's Snappy block compression (classic-level `compression: true`, the default) waste
// time or space when the values are already LZ4 (what addValueCompress stores)? Each data set is
// written in batches and compacted (the compaction is where Snappy runs), then read back at
// random through a cold block cache. The same for plain JSON and random bytes, for contrast.
import { createRequire } from 'node:module'
import { compress } from '@kv/core'
import {
  diskBytes,
  fmt,
  jsonDocument,
  keys16,
  lpad,
  median,
  pad,
  randomBytes,
  tempDir,
} from './harness.mjs'

const require = createRequire(import.meta.url)
const { ClassicLevel } = require('classic-level')

const ENTRIES = 20_000
const VALUE = 1024
const ROUNDS = 3
const whole = [new Uint8Array(0), new Uint8Array(17).fill(0xff)]

async function measure(values, compression) {
  const dir = tempDir(`snappy-${compression}`)
  const options = {
    keyEncoding: 'view',
    valueEncoding: 'view',
    compression,
    writeBufferSize: 10_485_760,
  }
  let db = new ClassicLevel(dir, options)
  await db.open()
  const keys = keys16(ENTRIES)
  const start = performance.now()
  for (let i = 0; i < ENTRIES; i += 1000) {
    const batch = db.batch()
    for (let j = i; j < i + 1000; j++) batch.put(keys[j], values[j])
    await batch.write()
  }
  await db.compactRange(...whole)
  const writeMs = performance.now() - start
  await db.close()
  const bytes = diskBytes(dir)
  db = new ClassicLevel(dir, options)
  await db.open()
  const order = keys.map((_, i) => (i * 7919) % ENTRIES)
  const readStart = performance.now()
  for (const i of order) db.getSync(keys[i])
  const readsPerSecond = (ENTRIES / (performance.now() - readStart)) * 1000
  await db.close()
  return { writeMs, bytes, readsPerSecond }
}

export async function compression(_lib, report) {
  const json = Array.from({ length: ENTRIES }, (_, i) => jsonDocument(VALUE, i))
  const sets = [
    ['LZ4 values (addValueCompress of 1 KiB JSON)', json.map((doc) => compress(doc))],
    ['plain 1 KiB JSON values (addValue)', json],
    ['random 1 KiB values', Array.from({ length: ENTRIES }, () => randomBytes(VALUE))],
  ]
  report.line(
    `Snappy (compression: true) vs none, ${fmt(ENTRIES)} entries, write in batches + full compaction, then random getSync through a cold block cache (medians of ${ROUNDS}):`,
  )
  report.line(
    `${pad('data set', 46)}${pad('snappy', 8)}${lpad('write+compact ms', 18)}${lpad('on disk KiB', 13)}${lpad('reads/s', 11)}`,
  )
  const summary = []
  for (const [name, values] of sets) {
    const raw = values.reduce((sum, v) => sum + v.length, 0)
    // Alternate on and off three times and keep the medians: the machine is shared.
    const runs = { on: [], off: [] }
    for (let round = 0; round < ROUNDS; round++) {
      runs.on.push(await measure(values, true))
      runs.off.push(await measure(values, false))
    }
    const pick = (list) => ({
      writeMs: median(list.map((m) => m.writeMs)),
      bytes: median(list.map((m) => m.bytes)),
      readsPerSecond: median(list.map((m) => m.readsPerSecond)),
    })
    const on = pick(runs.on)
    const off = pick(runs.off)
    for (const [label, m] of [
      ['on', on],
      ['off', off],
    ]) {
      report.line(
        `${pad(name, 46)}${pad(label, 8)}${lpad(fmt(m.writeMs), 18)}${lpad(fmt(m.bytes / 1024), 13)}${lpad(fmt(m.readsPerSecond), 11)}`,
      )
    }
    summary.push(
      `  ${name}: values ${fmt(raw / 1024)} KiB; Snappy on/off: size ${(on.bytes / off.bytes).toFixed(3)}x, write+compact time ${(on.writeMs / off.writeMs).toFixed(2)}x, read rate ${(on.readsPerSecond / off.readsPerSecond).toFixed(2)}x`,
    )
  }
  for (const line of summary) report.line(line)
}
