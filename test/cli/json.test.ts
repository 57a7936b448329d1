import { describe, expect, it } from 'vitest';
import { validReport } from '../report/schema.ts';
import { cli } from './helpers.ts';

describe('--json output (DESIGN §3)', () => {
  it('check --json: one document with the fields DESIGN names, per variant', async () => {
    const r = await cli('check', '--json', '--max-schedules', '20');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.out);
    expect(validReport(doc)).toBe(true);
    expect(doc.tool.name).toBe('vcpusim');
    expect(doc.exitCode).toBe(0);
    expect(
      doc.results.map((x: { scenario: string; variant: string }) => `${x.scenario}:${x.variant}`),
    ).toEqual([
      'cmo-ro-memslot:mainline',
      'cmo-ro-memslot:rfc-inject-dabt',
      'cmo-ro-memslot:as-civac',
      'cmo-ro-memslot:skip-on-ro',
      'cmo-ro-memslot:2016-skip-all',
      'mmio-split:no-cache',
      'mmio-split:pre-fix',
      'mmio-split:fixed',
      'mmio-split:ram-to-mmio',
      'mmio-split:mmio-to-ram',
      'mmio-split:descriptor-table',
      'pvh-low-1mb:pre-xsa378',
      'pvh-low-1mb:xsa378-old-flow',
      'pvh-low-1mb:map-once',
      'runstate:fixed',
      'runstate:fixed-compat',
      'runstate:fixed-invalidation',
      'runstate:whole-field-flag',
      'runstate:single-gpc',
      'runstate:inverted-lock-order',
      'runstate:check-outside-lock',
      'subpage-mmio-ro:final-map-then-recheck',
      'subpage-mmio-ro:v2-map-under-lock',
      'subpage-mmio-ro:unserialised-map',
      'subpage-mmio-ro:whole-page-ro',
      'subpage-mmio-ro:hvm-8847d6e23f',
      'subpage-mmio-ro:hvm-8847d6e23f-amd',
      'subpage-mmio-ro:page-base-store',
      'subpage-mmio-ro:wide-store',
      'subpage-mmio-ro:wide-store-fixed',
      'subpage-mmio-ro:pv',
    ]);
    for (const v of doc.results) {
      for (const k of [
        'scenario',
        'variant',
        'expect',
        'verdict',
        'exhaustive',
        'schedules',
        'classes',
        'steps',
        'elapsedMs',
      ]) {
        expect(v).toHaveProperty(k);
      }
      expect(v.verdict).toBe(v.expect);
      if (v.verdict === 'bug') {
        for (const k of ['kind', 'message', 'traceFile', 'traceHash', 'length']) expect(v).toHaveProperty(k);
        expect(v.length).toBeGreaterThan(0);
      } else if (v.exhaustive) {
        // A one-vCPU program has one interleaving: DPOR covers it in one execution.
        expect(v.classes).toBe(v.schedules);
        expect(v.schedules).toBeLessThan(20);
      } else {
        expect(v.schedules).toBe(20);
        expect(v.stoppedBy).toBe('max-schedules');
      }
    }
  });

  it('list --json names every variant with its expectation and the parameters', async () => {
    const r = await cli('list', '--json');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.out);
    const s = doc.scenarios.find((x: { name: string }) => x.name === 'mmio-split');
    expect(s.seed).toBe('000');
    expect(s.defaultVariant).toBe('fixed');
    expect(
      s.variants.filter((v: { expect: string }) => v.expect === 'bug').map((v: { name: string }) => v.name),
    ).toEqual(['no-cache', 'pre-fix', 'descriptor-table']);
    expect(s.params.build.values).toEqual(['debug', 'release']);
  });

  it('run --json prints the trace hash and every step', async () => {
    const r = JSON.parse((await cli('run', 'mmio-split:pre-fix', '--json')).out);
    expect(r.verdict).toBe('bug');
    expect(r.bug.kind).toBe('assertion');
    expect(r.trace).toHaveLength(r.steps);
    expect(r.traceHash).toMatch(/^[0-9a-f]{16}$/);
  });
});
