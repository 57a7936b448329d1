import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { expect } from 'vitest';

/** The report's JSON Schema, compiled once (ajv, draft 2020-12). */
export const SCHEMA = JSON.parse(
  readFileSync(new URL('../../schema/check-report.schema.json', import.meta.url), 'utf8'),
) as Record<string, unknown>;
const validate = new Ajv2020({
  allErrors: true,
  strict: true,
  strictRequired: false,
  allowUnionTypes: true,
}).compile(SCHEMA);

/** Does `doc` follow the schema? Fails the test with ajv's errors when it does not. */
export function validReport(doc: unknown): boolean {
  const ok = validate(doc);
  expect(validate.errors ?? [], 'the report does not follow schema/check-report.schema.json').toEqual([]);
  return ok;
}

/** The schema's verdict alone, for documents meant to be rejected. */
export function accepts(doc: unknown): boolean {
  return validate(doc) as boolean;
}
