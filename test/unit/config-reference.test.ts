import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { envSchema, fileSchema } from '../../src/config.ts';
import {
  BEGIN_MARKER,
  DOC_FILE,
  END_MARKER,
  REGENERATE_COMMAND,
  readRepoFile,
  renderJsonSchema,
  renderReferenceSection,
  SCHEMA_FILE,
  withReferenceSection,
} from '../tools/config-reference.ts';

const STALE = `is out of date with src/config.ts: run \`${REGENERATE_COMMAND}\` and commit what it rewrites (anyone adding or changing a config key or variable must)`;

describe('the generated configuration reference', () => {
  it(`${SCHEMA_FILE} is what ${REGENERATE_COMMAND} writes`, () => {
    expect(readRepoFile(SCHEMA_FILE) === renderJsonSchema(), `${SCHEMA_FILE} ${STALE}`).toBe(true);
  });

  it(`${DOC_FILE}'s reference section is what ${REGENERATE_COMMAND} writes`, () => {
    const doc = readRepoFile(DOC_FILE);
    expect(doc === withReferenceSection(doc), `${DOC_FILE} ${STALE}`).toBe(true);
  });

  it('lists every variable and every key of the file, nested ones included', () => {
    const section = renderReferenceSection();
    for (const name of Object.keys(envSchema.shape)) expect(section).toContain(`| \`${name}\` |`);
    for (const key of Object.keys(fileSchema.shape)) expect(section).toContain(`| \`${key}\` |`);
    expect(section).toMatch(/\| `routes\[\]\.channel` \| string \| \*\*required\*\* \|/);
    expect(section).toMatch(/\| `outbox\.maxConcurrentCalls` \| integer \| `8` \| ≥ 1, ≤ 64 \|/);
    expect(section).toMatch(/\| `retention\.resolvedGroups` \| duration \| `"30d"` \|/);
    expect(section).toMatch(/\| `LOG_LEVEL` \| "trace" \\\| "debug"/);
  });

  it('gives editors a schema of what users write: durations as text, unknown keys refused', () => {
    const schema = JSON.parse(renderJsonSchema()) as { additionalProperties: boolean; required?: string[]; properties: Record<string, { properties?: Record<string, { type: string }> }> };
    expect(schema.additionalProperties).toBe(false);
    expect(schema.required ?? []).toEqual([]);
    expect(schema.properties.retention?.properties?.resolvedGroups?.type).toBe('string');
  });

  it('manifests/base/config.yaml points yaml-language-server at the schema, and Lookout accepts the file', () => {
    const text = readRepoFile('manifests/base/config.yaml');
    expect(text.split('\n')[0]).toBe(`# yaml-language-server: $schema=../../${SCHEMA_FILE}`);
    expect(fileSchema.safeParse(parseYaml(text)).success).toBe(true);
  });

  it('rewrites only what is between the markers', () => {
    const doc = `# Title\n\nprose before\n\n${BEGIN_MARKER}\nold table\n${END_MARKER}\n\nprose after\n`;
    const rewritten = withReferenceSection(doc);
    expect(rewritten.startsWith(`# Title\n\nprose before\n\n${BEGIN_MARKER}\n`)).toBe(true);
    expect(rewritten.endsWith(`${END_MARKER}\n\nprose after\n`)).toBe(true);
    expect(rewritten).not.toContain('old table');
    expect(() => withReferenceSection('# no markers\n')).toThrow(/markers of the generated reference are missing/);
  });
});
