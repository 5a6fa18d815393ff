/**
 * Runs batches of LZ4 jobs through liblz4, the reference C implementation, via Debian's
 * python3-lz4 and test/lz4/liblz4.py: one Python process per batch.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export type Job =
  | { op: 'decompress'; data: Uint8Array }
  | { op: 'compress'; mode: 'default' | 'fast' | 'high_compression'; data: Uint8Array }

export type JobResult = { ok: true; data: Uint8Array } | { ok: false; error: string }

const SCRIPT = fileURLToPath(new URL('../liblz4.py', import.meta.url))

/**
 * The Python that has the `lz4` module. `python3` on PATH may be another install (pyenv, a
 * venv) without Debian's dist-packages, so Debian's own interpreter is tried too.
 */
export function findPython(): string | undefined {
  const candidates = [process.env.KV_PYTHON3, 'python3', '/usr/bin/python3']
  for (const candidate of candidates) {
    if (!candidate) continue
    const probe = spawnSync(candidate, ['-c', 'import lz4.block'], { stdio: 'ignore' })
    if (probe.status === 0) return candidate
  }
  return undefined
}

/** Runs `jobs` in one Python process and returns liblz4's version and one result per job. */
export function runLiblz4(python: string, jobs: Job[]): { version: string; results: JobResult[] } {
  const dir = mkdtempSync(join(tmpdir(), 'kv-liblz4-'))
  try {
    const jobsPath = join(dir, 'jobs.jsonl')
    const outPath = join(dir, 'out.jsonl')
    writeFileSync(
      jobsPath,
      jobs
        .map((job) => JSON.stringify({ ...job, data: Buffer.from(job.data).toString('base64') }))
        .join('\n'),
    )
    const run = spawnSync(python, [SCRIPT, jobsPath, outPath], { encoding: 'utf8' })
    if (run.status !== 0) {
      throw new Error(`${python} ${SCRIPT} failed (${run.status}): ${run.stderr}`)
    }
    const [head, ...lines] = readFileSync(outPath, 'utf8').trim().split('\n')
    const version = (JSON.parse(head!) as { liblz4: string }).liblz4
    const results = lines.map((line) => {
      const result = JSON.parse(line) as { ok: boolean; data?: string; error?: string }
      return result.ok
        ? { ok: true as const, data: new Uint8Array(Buffer.from(result.data!, 'base64')) }
        : { ok: false as const, error: result.error! }
    })
    if (results.length !== jobs.length) {
      throw new Error(`liblz4.py answered ${results.length} of ${jobs.length} jobs`)
    }
    return { version, results }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
