/** Where the WAL's fdatasync runs: blocking while it is fast, in the thread pool otherwise. */
import { describe, expect, test } from 'vitest'
import { BLOCKING_SYNC_LIMIT_MS, POOL_PROBE_MS, SyncPolicy } from '../src/sync-policy.js'

function policyWithClock(enabled: boolean) {
  const clock = { now: 1000 }
  return { clock, policy: new SyncPolicy(enabled, () => clock.now) }
}

describe('SyncPolicy', () => {
  test('sync_on_event_loop: false never blocks', () => {
    const { clock, policy } = policyWithClock(false)
    expect(policy.blocking).toBe(false)
    clock.now += 10 * POOL_PROBE_MS
    expect(policy.blocking).toBe(false)
  })

  test('fast syncs keep blocking, however many', () => {
    const { policy } = policyWithClock(true)
    for (let i = 0; i < 10_000; i++) {
      expect(policy.blocking).toBe(true)
      policy.blocked(0.3)
    }
  })

  test('an occasional spike among fast syncs does not move syncs to the pool', () => {
    const { policy } = policyWithClock(true)
    for (let i = 0; i < 1000; i++) policy.blocked(i % 100 === 0 ? 9 : 0.25)
    expect(policy.blocking).toBe(true)
  })

  test('a slow disk moves syncs to the pool, and blocking is tried again after the probe delay', () => {
    const { clock, policy } = policyWithClock(true)
    let blockingSyncs = 0
    while (policy.blocking) {
      policy.blocked(3 * BLOCKING_SYNC_LIMIT_MS)
      blockingSyncs++
      expect(blockingSyncs).toBeLessThan(20)
    }
    expect(blockingSyncs).toBeGreaterThan(1)
    clock.now += POOL_PROBE_MS - 1
    expect(policy.blocking).toBe(false)
    clock.now += 1
    expect(policy.blocking).toBe(true)
    // The probe starts from a fresh average: the disk has become fast, and it stays blocking.
    for (let i = 0; i < 100; i++) policy.blocked(0.2)
    expect(policy.blocking).toBe(true)
  })

  test('one very long sync moves syncs to the pool at once', () => {
    const { policy } = policyWithClock(true)
    policy.blocked(100)
    expect(policy.blocking).toBe(false)
  })
})
