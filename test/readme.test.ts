import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import counter from '../examples/counter.ts';
import { check } from '../src/index.ts';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

describe('README', () => {
  it('quick start is two commands: install + vcpusim check, and the test command', () => {
    const quick = readme.split('## Quick start')[1].split('```sh')[1].split('```')[0].trim().split('\n');
    expect(quick).toHaveLength(2);
    expect(quick[0]).toMatch(/^npm ci && npx vcpusim check\b/);
    expect(quick[1]).toMatch(/^npm test\b/);
  });
  it('"Write your own scenario" shows examples/counter.ts verbatim, under 50 lines', () => {
    const section = readme.split('## Write your own scenario')[1];
    const code = section.split('```ts\n')[1].split('```')[0];
    const file = readFileSync(new URL('../examples/counter.ts', import.meta.url), 'utf8');
    expect(code).toBe(file);
    expect(file.trimEnd().split('\n').length).toBeLessThan(50);
  });
  it('the example finds its bug and passes its fixed variant', async () => {
    const r = await check(counter, { maxSchedules: 300, traceDir: null });
    expect(r.results.map((x) => [x.variant, x.verdict])).toEqual([
      ['locked', 'pass'],
      ['no-lock', 'bug'],
    ]);
    expect(r.results[1].kind).toBe('race');
    expect(r.results[1].message).toMatch(/^race: vcpu\d (reads|writes) 0x1000\/4/);
    expect(r.exitCode).toBe(0);
    // Without the race detector, the invariant sees the lost update.
    const late = await check(counter, {
      maxSchedules: 300,
      traceDir: null,
      variants: ['no-lock'],
      checkers: { race: false },
    });
    expect(late.results[0].message).toMatch(/counter is 1 after both increments/);
  });
});
