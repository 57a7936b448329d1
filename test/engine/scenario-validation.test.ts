import { describe, expect, it } from 'vitest';
import { setup } from 'xstate';
import { ModelError, UsageError } from '../../src/model/errors.ts';
import { defineScenario } from '../../src/scenario/define-scenario.ts';
import { instantiate, parseParams } from '../../src/scenario/instance.ts';
import { splitTarget } from '../../src/scenario/load.ts';
import { thrown } from '../fixtures/engine.ts';

const idle = setup({}).createMachine({ id: 'idle', initial: 'a', states: { a: { tags: ['idle'] } } });

const scenario = (over: Partial<Parameters<typeof defineScenario>[0]> = {}) =>
  defineScenario({
    name: 'v',
    description: 'validation',
    params: { n: { default: 1 }, mode: { default: 'a', values: ['a', 'b'] }, on: { default: false } },
    memory: () => [{ name: 'ram', base: 0x1000, pages: 1, type: 'ram' }],
    actors: () => ({ x: { machine: idle } }),
    variants: { base: { description: 'base' } },
    ...over,
  });

describe('scenario declarations are validated with messages that name the culprit', () => {
  it('an unknown variant is a usage error listing the variants', () => {
    const e = thrown(() => instantiate(scenario(), 'nope'));
    expect(e).toBeInstanceOf(UsageError);
    expect(e.message).toBe("scenario 'v' has no variant 'nope' (it has: base)");
  });
  it('provide must name a machine that an actor runs', () => {
    const s = scenario({ variants: { base: { description: 'b', provide: { ghost: { actions: {} } } } } });
    const e = thrown(() => instantiate(s, 'base'));
    expect(e).toBeInstanceOf(ModelError);
    expect(e.message).toMatch(/provide names machine 'ghost', which no actor runs/);
  });
  it('actors() must declare actors with machines, and may not throw', () => {
    expect(thrown(() => instantiate(scenario({ actors: () => ({}) }), 'base')).message).toMatch(
      /declares no actor/,
    );
    const noMachine = scenario({ actors: () => ({ x: { machine: undefined as never } }) });
    expect(thrown(() => instantiate(noMachine, 'base')).message).toMatch(/actor 'x' has no xstate machine/);
    const throwing = scenario({
      actors: () => {
        throw new Error('nope');
      },
    });
    expect(thrown(() => instantiate(throwing, 'base')).message).toMatch(/actors\(\) threw: nope/);
  });
  it('memory regions are checked when the scenario is instantiated', () => {
    const bad = scenario({ memory: () => [{ name: 'r', base: 0x1001, pages: 1, type: 'ram' }] });
    const e = thrown(() => instantiate(bad, 'base'));
    expect(e).toBeInstanceOf(ModelError);
    expect(e.message).toMatch(/memory region 'r': base 0x1001 is not page aligned/);
  });
  it('parameters are parsed by the type of their default and checked against their values', () => {
    const s = scenario();
    expect(parseParams(s, ['n=3', 'mode=b', 'on=true'])).toEqual({ n: 3, mode: 'b', on: true });
    expect(thrown(() => parseParams(s, ['n=three'])).message).toMatch(/--param n: 'three' is not a number/);
    expect(thrown(() => parseParams(s, ['on=yes'])).message).toMatch(/expected true or false/);
    expect(thrown(() => parseParams(s, ['x=1'])).message).toMatch(
      /has no parameter 'x' \(it has: n, mode, on\)/,
    );
    expect(thrown(() => parseParams(s, ['n'])).message).toMatch(/expected k=v/);
    expect(thrown(() => instantiate(s, 'base', { mode: 'c' })).message).toMatch(/mode=c is not one of a, b/);
    expect(instantiate(s, 'base', { n: 5 }).params).toEqual({ n: 5, mode: 'a', on: false });
  });
  it('targets split into scenario and variant; paths keep their colons out of it', () => {
    expect(splitTarget('mmio-split:pre-fix')).toEqual({ ref: 'mmio-split', variant: 'pre-fix' });
    expect(splitTarget('mmio-split')).toEqual({ ref: 'mmio-split' });
    expect(splitTarget('./dir/x.ts:bug')).toEqual({ ref: './dir/x.ts', variant: 'bug' });
    expect(splitTarget('C:/dir/x.ts')).toEqual({ ref: 'C:/dir/x.ts' });
  });
});
