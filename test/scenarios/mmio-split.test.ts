import { describe, expect, it } from 'vitest';
import type { DeviceModelContext } from '../../machines/device-model.ts';
import type { VcpuContext } from '../../machines/hvm-vcpu.ts';
import mmioSplit from '../../scenarios/mmio-split.ts';
import { check } from '../../src/index.ts';
import { Execution } from '../../src/runtime/execution.ts';
import { instantiate } from '../../src/scenario/instance.ts';
import { RandomStrategy } from '../../src/strategies/random.ts';

const quick = { maxSchedules: 150, traceDir: null } as const;

describe('mmio-split: every variant gets its expected verdict', () => {
  for (const [variant, spec] of Object.entries(mmioSplit.variants)) {
    it(`${variant}: ${spec.expect}`, async () => {
      const r = await check(mmioSplit, { ...quick, variants: [variant] });
      expect(r.results).toHaveLength(1);
      const v = r.results[0];
      expect(v.error).toBeUndefined();
      expect(v.verdict).toBe(spec.expect);
      expect(r.exitCode).toBe(0);
    });
  }
});

async function bugOf(variant: string, params: Record<string, string>) {
  const r = await check(mmioSplit, { ...quick, variants: [variant], params });
  return r.results[0];
}

describe('mmio-split: each modelled bug shows as what it causes', () => {
  it('pre-fix aliasing (§1.6 A), debug build: the ASSERT in hvmemul_phys_mmio_access', async () => {
    const b = await bugOf('pre-fix', { program: 'aliasing' });
    expect(b?.kind).toBe('assertion');
    expect(b?.message).toMatch(/ASSERT\(offset \+ chunk <= cache->size\).*dst/);
  });
  it('pre-fix aliasing, release build: dst never read from the device (wrong data / shared entry)', async () => {
    const b = await bugOf('pre-fix', { program: 'aliasing', build: 'release' });
    expect(b?.kind).toBe('invariant');
    expect(b?.message).toMatch(/(dst byte at 0x2000 never went to the device)|(src and dst share)/);
  });
  it('pre-fix capacity (§1.6 B): the 4th entry is refused and the guest gets #GP(0)', async () => {
    const b = await bugOf('pre-fix', { program: 'capacity' });
    expect(b?.invariant).toBe('no-spurious-fault');
    expect(b?.message).toMatch(/#GP\(0\).*MMIO cache full/);
  });
  it('no-cache: re-emulation re-issues an earlier device access (I3 catches it)', async () => {
    const b = await bugOf('no-cache', { program: 'aliasing' });
    expect(b?.invariant).toBe('I3');
    expect(b?.message).toMatch(/re-issued read 0x1ffc\/4/);
  });
  it('descriptor-table: the assertion the patch notes predict, on the fixed code', async () => {
    const b = await bugOf('descriptor-table', {});
    expect(b?.kind).toBe('assertion');
    expect(b?.message).toMatch(/0 \+ 8 > 2.*descriptor/);
  });
  it('descriptor-table, release build: the descriptor comes from the selector’s entry (I4/I6)', async () => {
    const b = await bugOf('descriptor-table', { build: 'release' });
    expect(b?.kind).toBe('invariant');
    expect(b?.message).toMatch(
      /(descriptor byte at 0x1000 never went to the device)|(selector and descriptor share)/,
    );
  });
  for (const program of ['aliasing', 'capacity', 'both', 'ram-to-mmio', 'mmio-to-ram']) {
    for (const build of ['debug', 'release']) {
      it(`fixed passes ${program} (${build})`, async () => {
        const r = await check(mmioSplit, {
          ...quick,
          maxSchedules: 40,
          variants: ['fixed'],
          params: { program, build },
        });
        expect(r.results[0].verdict).toBe('pass');
      });
    }
  }
});

describe('mmio-split fixed: the device sees each chunk exactly once', () => {
  it('CMPSQ P-4/P and MOVSQ: device log matches the chunking of §1.4 and §1.6', () => {
    for (let seed = 0; seed < 20; seed++) {
      const exec = new Execution(instantiate(mmioSplit, 'fixed'));
      exec.start();
      const strategy = new RandomStrategy(seed);
      strategy.begin(0);
      for (let moves = exec.enabled(); moves.length > 0 && !exec.bug; moves = exec.enabled()) {
        exec.apply(strategy.pick(moves));
      }
      expect(exec.finish()).toBeUndefined();
      const log = exec.view.context<DeviceModelContext>('dm').device.log;
      const of = (vcpu: number) =>
        log.filter((l) => l.vcpu === vcpu).map((l) => `${l.dir} ${l.gpa.toString(16)}/${l.size}`);
      expect(of(0)).toEqual(['read 1ffc/4', 'read 2000/4', 'read 2000/8']);
      expect(of(1)).toEqual(['read 2ffc/4', 'read 3000/4', 'write 3ffc/4', 'write 4000/4']);
      const v1 = exec.view.context<VcpuContext>('vcpu1');
      const moved = v1.ghost.retired[0].values.src;
      const written = log.filter((l) => l.vcpu === 1 && l.dir === 'write').flatMap((l) => l.data);
      expect(written).toEqual(moved);
      expect(exec.view.actor('vcpu0').state).toBe('halted');
    }
  });
});
