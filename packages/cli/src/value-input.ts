/**
 * Where `kv put` takes its value from: the VALUE argument (UTF-8 text), a file (`--file PATH`)
 * or stdin (VALUE `-`). Exactly one of them.
 *
 * @module
 */
import { readFile } from 'node:fs/promises'
import { CliError, ExitCode } from './exit-codes.js'

/** Reads all of stdin as bytes. */
export async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

/** The value of `kv put`, from exactly one of the argument, `--file` and stdin. */
export async function readValue(
  argument: string | undefined,
  file: string | undefined,
): Promise<Uint8Array> {
  if (argument !== undefined && file !== undefined) {
    throw new CliError(ExitCode.USAGE, 'give the value either as VALUE or with --file, not both')
  }
  if (file !== undefined) {
    try {
      return await readFile(file)
    } catch (cause) {
      throw new CliError(
        ExitCode.INVALID_INPUT,
        `cannot read the value file ${file}: ${(cause as Error).message}`,
        { cause },
      )
    }
  }
  if (argument === undefined) {
    throw new CliError(
      ExitCode.USAGE,
      'missing VALUE: give it as an argument, as - to read stdin, or with --file PATH',
    )
  }
  if (argument === '-') return readStdin()
  return Buffer.from(argument, 'utf8')
}
