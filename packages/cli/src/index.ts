/**
 * `@kv/cli`: the `kv` command. The command is the product; this module exposes the pieces other
 * tools may want: the export format reader and writer, the exit codes and the backend table.
 *
 * @packageDocumentation
 */
export { BACKEND_PACKAGES } from './backends.js'
export { CliError, ExitCode, exitCodeFor } from './exit-codes.js'
export {
  EXPORT_FORMAT,
  EXPORT_VERSION,
  type ExportEntry,
  ExportFormatError,
  type ExportHeader,
  ExportReader,
  entryLine,
  headerLine,
  trailerLine,
} from './export-format.js'
export { type Line, MAX_LINE_BYTES, type ReadLinesOptions, readLines } from './lines.js'
