import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runInNewContext } from 'node:vm'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import {
  configFilePath,
  configure,
  dataDir,
  defineConfigSection,
  isKnownTopLevelKey,
  readConfigFile,
  resetConfiguration,
  validateFile,
} from '../src/config/index.js'

const section = defineConfigSection(
  'simple_kv',
  z.strictObject({
    enabled: z.boolean().default(true),
    path: z.string().optional(),
    sync_writes: z.boolean().default(false),
    snapshot_interval_ms: z.number().int().positive().default(10_000),
  }),
)

let dir: string
const cwd = process.cwd()
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'kv-config-'))
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))
afterEach(() => {
  delete process.env.KV_CONFIG
  process.chdir(cwd)
  resetConfiguration()
})

const write = (name: string, text: string): string => {
  const path = join(dir, name)
  writeFileSync(path, text)
  return path
}

describe('configuration', () => {
  it('applies the defaults when there is no file and no configure()', () => {
    process.chdir(dir)
    expect(configFilePath()).toBeUndefined()
    expect(section.resolve()).toEqual({
      enabled: true,
      sync_writes: false,
      snapshot_interval_ms: 10_000,
    })
    expect(dataDir()).toBe(join(dir, 'data'))
  })

  it('reads the file named by KV_CONFIG', () => {
    process.env.KV_CONFIG = write('a.yml', 'data_dir: /srv/kv\nsimple_kv:\n  sync_writes: true\n')
    expect(section.resolve().sync_writes).toBe(true)
    expect(dataDir()).toBe('/srv/kv')
  })

  it('reads ./kv.yml when KV_CONFIG is not set', () => {
    const sub = mkdtempSync(join(dir, 'cwd-'))
    writeFileSync(join(sub, 'kv.yml'), 'simple_kv:\n  path: here\n')
    process.chdir(sub)
    expect(section.resolve().path).toBe('here')
  })

  it('accepts an empty section and sections of backends that are not installed', () => {
    process.env.KV_CONFIG = write(
      'b.yml',
      'simple_kv:\nelastic:\n  index_name: x\nbadger:\n  path: y\n',
    )
    expect(section.resolve().enabled).toBe(true)
  })

  it('lets configure() override the file key by key', () => {
    process.env.KV_CONFIG = write('c.yml', 'simple_kv:\n  sync_writes: true\n  path: from-file\n')
    configure({ simple_kv: { path: 'from-code' } })
    expect(section.resolve()).toMatchObject({ sync_writes: true, path: 'from-code' })
  })

  it('takes a key configure() gives as undefined as absent: the file, then the defaults, apply', () => {
    process.env.KV_CONFIG = write('u.yml', 'data_dir: from-file\nsimple_kv:\n  path: from-file\n')
    configure({ data_dir: undefined, simple_kv: undefined })
    expect(dataDir()).toMatch(/from-file$/)
    expect(section.resolve()).toMatchObject({ path: 'from-file', sync_writes: false })
    // An unknown key is refused whatever its value.
    expect(() => configure({ simpel_kv: undefined } as never)).toThrow(
      expect.objectContaining({ code: 'KV_INVALID_CONFIG', key: 'simpel_kv' }),
    )
  })

  it('takes a key of a section configure() gives as undefined as absent: the file key stays in force', () => {
    process.env.KV_CONFIG = write('v.yml', 'simple_kv:\n  sync_writes: true\n  path: from-file\n')
    // Code passing optional settings of its own through: only `path` is given.
    const options: { path?: string; sync?: boolean } = { path: 'from-code' }
    configure({ simple_kv: { path: options.path, sync_writes: options.sync } })
    expect(section.resolve()).toMatchObject({ sync_writes: true, path: 'from-code' })
    // Without a file key, the default applies.
    resetConfiguration()
    delete process.env.KV_CONFIG
    process.chdir(dir)
    configure({ simple_kv: { sync_writes: undefined } })
    expect(section.resolve().sync_writes).toBe(false)
  })

  it('names an unknown key in a section', () => {
    process.env.KV_CONFIG = write('d.yml', 'simple_kv:\n  sync_write: true\n')
    expect(() => section.resolve()).toThrow(
      expect.objectContaining({
        code: 'KV_INVALID_CONFIG',
        key: 'simple_kv.sync_write',
        message: expect.stringContaining('d.yml'),
      }),
    )
  })

  it('names a key with the wrong type', () => {
    expect(() => configure({ simple_kv: { sync_writes: 'yes' } })).toThrow(
      expect.objectContaining({
        code: 'KV_INVALID_CONFIG',
        key: 'simple_kv.sync_writes',
        message: expect.stringMatching(/"simple_kv.sync_writes": .*boolean/),
      }),
    )
    expect(() => configure({ simple_kv: { snapshot_interval_ms: -1 } })).toThrow(
      expect.objectContaining({ key: 'simple_kv.snapshot_interval_ms' }),
    )
  })

  it('names an unknown top-level key, and a section that is not a mapping', () => {
    expect(() => configure({ simpel_kv: {} })).toThrow(
      expect.objectContaining({ code: 'KV_INVALID_CONFIG', key: 'simpel_kv' }),
    )
    expect(() => configure({ simple_kv: 3 } as never)).toThrow(
      expect.objectContaining({ key: 'simple_kv' }),
    )
    process.env.KV_CONFIG = write('e.yml', 'badgr:\n  path: x\n')
    expect(() => section.resolve()).toThrow(
      expect.objectContaining({ key: 'badgr', message: expect.stringContaining('e.yml') }),
    )
    // A mistyped key whose value is not a mapping is named as unknown too, with its suggestion,
    // not as a section that must be a mapping.
    for (const [file, yaml, key, suggestion] of [
      ['f.yml', 'data_dri: ./x\n', 'data_dri', 'data_dir'],
      ['g.yml', 'badgr: [x]\n', 'badgr', 'badger'],
    ] as const) {
      resetConfiguration()
      process.env.KV_CONFIG = write(file, yaml)
      expect(() => section.resolve(), file).toThrow(
        expect.objectContaining({
          key,
          message: expect.stringContaining(`unknown key "${key}" (did you mean "${suggestion}"?)`),
        }),
      )
    }
    // A section not known yet is left to the check a store makes when it reads its section: it
    // may be that of a third-party backend imported later.
    resetConfiguration()
    process.env.KV_CONFIG = write('third.yml', 'data_dir: /srv/third\nmykv: {a: 1}\n')
    expect(dataDir()).toBe('/srv/third')
    expect(() => validateFile(() => true)).not.toThrow()
    expect(() => section.resolve()).toThrow(expect.objectContaining({ key: 'mykv' }))
  })

  it('leaves the previous configuration in force when configure() is rejected', () => {
    configure({ simple_kv: { path: 'kept' } })
    expect(() => configure({ simple_kv: { path: 1 } } as never)).toThrow(
      expect.objectContaining({ code: 'KV_INVALID_CONFIG', key: 'simple_kv.path' }),
    )
    expect(section.resolve().path).toBe('kept')
  })

  it('refuses a function in the section of a backend not loaded, naming its key, and changes nothing', () => {
    configure({ simple_kv: { path: 'kept' } })
    // No schema checks `badger` here (its package is not loaded): the copy configure() keeps does.
    const hook = () => 1
    expect(() =>
      configure({ simple_kv: { path: 'other' }, badger: { options: [1, { hook }] } } as never),
    ).toThrow(
      expect.objectContaining({
        code: 'KV_INVALID_CONFIG',
        key: 'badger.options.1.hook',
        message: expect.stringMatching(/"badger\.options\.1\.hook" is not data/),
      }),
    )
    expect(section.resolve().path).toBe('kept')
  })

  it('reports a missing KV_CONFIG file and invalid YAML with the path', () => {
    process.env.KV_CONFIG = join(dir, 'missing.yml')
    expect(() => section.resolve()).toThrow(
      expect.objectContaining({
        code: 'KV_INVALID_CONFIG',
        message: expect.stringMatching(/missing\.yml \(named by KV_CONFIG\)/),
        // The file-system error behind it is kept as the cause.
        cause: expect.objectContaining({ code: 'ENOENT', path: join(dir, 'missing.yml') }),
      }),
    )
    resetConfiguration()
    process.env.KV_CONFIG = write('bad.yml', 'simple_kv: [unclosed\n')
    expect(() => section.resolve()).toThrow(
      expect.objectContaining({
        code: 'KV_INVALID_CONFIG',
        message: expect.stringMatching(/not valid YAML/),
      }),
    )
  })

  it('refuses a file declaring YAML 1.1 or holding an unknown tag, rather than reading it otherwise', () => {
    for (const [name, yaml, reason] of [
      [
        'v11.yml',
        '%YAML 1.1\n---\nbase: &b {sync_writes: yes}\nsimple_kv:\n  <<: *b\n',
        /declares %YAML 1\.1, and kv reads YAML 1\.2/,
      ],
      [
        'tag.yml',
        'simple_kv:\n  path: !foo /tmp/x\n',
        /Unresolved tag: !foo.*kv takes no custom tags/,
      ],
      [
        'v13.yml',
        '%YAML 1.3\n---\nsimple_kv: {}\n',
        /Unsupported YAML version 1\.3.*kv reads plain YAML 1\.2/,
      ],
      [
        'directive.yml',
        '%FOO bar\n---\nsimple_kv: {}\n',
        /%FOO.*kv reads plain YAML 1\.2: remove it/,
      ],
    ] as const) {
      resetConfiguration()
      process.env.KV_CONFIG = write(name, yaml)
      expect(() => section.resolve(), name).toThrow(
        expect.objectContaining({
          code: 'KV_INVALID_CONFIG',
          message: expect.stringMatching(reason),
        }),
      )
      expect(() => readConfigFile(process.env.KV_CONFIG!), name).toThrow(
        expect.objectContaining({ message: expect.stringContaining(name) }),
      )
    }
    // An explicit %YAML 1.2 is fine.
    resetConfiguration()
    process.env.KV_CONFIG = write('v12.yml', '%YAML 1.2\n---\nsimple_kv:\n  path: p12\n')
    expect(section.resolve().path).toBe('p12')
  })

  it('refuses a YAML file that is not a mapping of sections', () => {
    for (const [name, yaml] of [
      ['list.yml', '- simple_kv\n- badger\n'],
      ['scalar.yml', 'just some text\n'],
    ]) {
      resetConfiguration()
      process.env.KV_CONFIG = write(name!, yaml!)
      expect(() => section.resolve(), name).toThrow(
        expect.objectContaining({
          code: 'KV_INVALID_CONFIG',
          message: expect.stringMatching(/expected a mapping of sections/),
        }),
      )
    }
  })

  it('readConfigFile reads another file by the same rules, suggesting the key a misspelt one stands for', () => {
    const good = write('other.yml', 'data_dir: /srv/other\nsimple_kv:\n  path: ./p\n')
    expect(readConfigFile(good, { isKnown: isKnownTopLevelKey })).toEqual({
      data_dir: '/srv/other',
      simple_kv: { path: './p' },
    })
    const misspelt = write('misspelt.yml', 'badgr:\n  path: ./b\n')
    expect(() => readConfigFile(misspelt, { isKnown: isKnownTopLevelKey })).toThrow(
      expect.objectContaining({
        code: 'KV_INVALID_CONFIG',
        key: 'badgr',
        message: expect.stringContaining('unknown key "badgr" (did you mean "badger"?)'),
      }),
    )
    // A shortening, and a key like none: no suggestion then.
    const short = write('short.yml', 'simple: {}\n')
    expect(() => readConfigFile(short, { isKnown: isKnownTopLevelKey })).toThrow(
      expect.objectContaining({ message: expect.stringContaining('(did you mean "simple_kv"?)') }),
    )
    const unlike = write('unlike.yml', 'zzzzzzzz: {}\n')
    expect(() => readConfigFile(unlike, { isKnown: isKnownTopLevelKey })).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining('did you mean') }),
    )
    // Without isKnown, unknown keys pass (the file in force is checked when a store reads it).
    expect(readConfigFile(misspelt)).toEqual({ badgr: { path: './b' } })
    expect(() =>
      readConfigFile(join(dir, 'missing.yml'), { origin: ' (named by --to-config)' }),
    ).toThrow(
      expect.objectContaining({
        code: 'KV_INVALID_CONFIG',
        message: expect.stringContaining('missing.yml (named by --to-config)'),
      }),
    )
  })

  it('refuses a YAML mapping tagged !!omap or !!set instead of reading it as empty', () => {
    // yaml turns these into a Map or a Set, whose entries are not properties: read as a plain
    // object, the whole file (or section) would silently be empty and its keys never checked.
    for (const [name, yaml, key] of [
      ['omap.yml', '--- !!omap\n- simple_kv: { path: ./mine }\n', undefined],
      ['omap-section.yml', 'simple_kv: !!omap\n  - path: ./mine\n  - bogus: 1\n', 'simple_kv'],
      ['set-section.yml', 'simple_kv: !!set\n  ? path\n', 'simple_kv'],
    ] as const) {
      resetConfiguration()
      process.env.KV_CONFIG = write(name, yaml)
      expect(() => section.resolve(), name).toThrow(
        expect.objectContaining({
          code: 'KV_INVALID_CONFIG',
          key,
          message: expect.stringContaining('!!omap'),
        }),
      )
    }
  })

  it('refuses a Map given to configure() or as options, instead of ignoring its keys', () => {
    expect(() => configure(new Map([['data_dir', '/srv/kv']]) as never)).toThrow(
      expect.objectContaining({
        code: 'KV_INVALID_CONFIG',
        message: expect.stringContaining('Map'),
      }),
    )
    expect(() => configure({ simple_kv: new Map([['path', './mine']]) } as never)).toThrow(
      expect.objectContaining({ code: 'KV_INVALID_CONFIG', key: 'simple_kv' }),
    )
    expect(() => section.parse(new Map([['path', './mine']]), 'the options of SimpleKV')).toThrow(
      expect.objectContaining({ code: 'KV_INVALID_CONFIG', key: 'simple_kv' }),
    )
  })

  it('accepts plain mappings made in another realm (a vm context, as test runners use) and with no prototype', () => {
    configure(runInNewContext("({ simple_kv: { path: './from-vm' } })"))
    expect(section.resolve().path).toBe('./from-vm')
    configure({ simple_kv: Object.assign(Object.create(null), { path: './no-prototype' }) })
    expect(section.resolve().path).toBe('./no-prototype')
    // A Map of the other realm is still refused.
    expect(() => configure(runInNewContext("new Map([['data_dir', '/srv/kv']])"))).toThrow(
      expect.objectContaining({ code: 'KV_INVALID_CONFIG' }),
    )
  })

  it('keeps the file it read until resetConfiguration()', () => {
    const path = write('cached.yml', 'simple_kv:\n  path: first\n')
    process.env.KV_CONFIG = path
    expect(section.resolve().path).toBe('first')
    writeFileSync(path, 'simple_kv:\n  path: second\n')
    process.env.KV_CONFIG = write('other.yml', 'simple_kv:\n  path: other\n')
    // Neither the edit nor the new KV_CONFIG applies yet.
    expect(section.resolve().path).toBe('first')
    resetConfiguration()
    expect(section.resolve().path).toBe('other')
    process.env.KV_CONFIG = path
    resetConfiguration()
    expect(section.resolve().path).toBe('second')
  })

  it('lets a later configure() replace an earlier one, not merge with it', () => {
    configure({ data_dir: '/srv/first', simple_kv: { path: 'first', sync_writes: true } })
    configure({ simple_kv: { path: 'second' } })
    expect(section.resolve()).toMatchObject({ path: 'second', sync_writes: false })
    expect(dataDir()).toBe(join(cwd, 'data'))
  })

  it('validates options given in code with the section schema', () => {
    expect(() => section.parse({ path: 3 }, 'the options of SimpleKV')).toThrow(
      expect.objectContaining({
        key: 'simple_kv.path',
        message: expect.stringContaining('the options of SimpleKV'),
      }),
    )
  })
})
