#!/usr/bin/env node
/**
 * The `kv` executable.
 *
 * @module
 */
import { main } from './main.js'
import { write } from './output.js'

// A closed pipe on stdout (`kv ls | head`) surfaces as a failed write, handled in main(); without
// a listener the stream would also throw it as an uncaught 'error' event.
process.stdout.on('error', () => {})

const code = await main(process.argv.slice(2))
// Output is flushed before the exit code is set; a handle some backend leaves open must not keep
// the process alive, hence the (unref'd) exit timer.
await Promise.all([write(process.stdout, ''), write(process.stderr, '')]).catch(() => {})
process.exitCode = code
setTimeout(() => process.exit(code), 2000).unref()
