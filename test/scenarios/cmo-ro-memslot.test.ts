import { describe, expect, it } from 'vitest';
import {
  dataAbortEsr,
  ESR_CM,
  ESR_ISV,
  ESR_S1PTW,
  ESR_WNR,
  FSC_ACCESS,
  FSC_FAULT,
  FSC_LEVEL3,
  FSC_PERM,
  isWriteFault,
  KVM_EXIT_ARM_NISV,
  nisvIss,
} from '../../machines/arm64-esr.ts';
import { arm64VcpuSetup, START_PC, type VcpuContext } from '../../machines/arm64-vcpu.ts';
import type { VmmContext } from '../../machines/arm64-vmm.ts';
import {
  asCivacCmo,
  cmoTranslationFaultAsRead,
  handleGuestAbort,
  ioMemAbortExit,
  mainlineCmo,
  mainlineUserMemAbortWrite,
  rfcCmo,
  skipCmo,
  stage2Update,
} from '../../machines/kvm-arm64-abort.ts';
import { PTE_INVALID, PTE_RO, PTE_RW, stage2Fault } from '../../machines/stage2-pte.ts';
import cmo from '../../scenarios/cmo-ro-memslot.ts';
import { check, defineScenario, leToNumber, release, toLe, write } from '../../src/index.ts';
import { Execution } from '../../src/runtime/execution.ts';
import { instantiate } from '../../src/scenario/instance.ts';
import { applyKey } from '../fixtures/engine.ts';

const dpor = { strategy: 'dpor', workers: 1, traceDir: null } as const;
type Params = Record<string, string | number | boolean>;

async function verdict(variant: string, params: Params = {}, scenario = cmo) {
  const r = await check(scenario, { ...dpor, variants: [variant], params });
  expect(r.results).toHaveLength(1);
  const v = r.results[0];
  expect(v.error).toBeUndefined();
  return v;
}

/** One execution, always taking the first enabled step, to its end (or to the bug it shows). */
function runOnce(variant: string, params: Params) {
  const exec = new Execution(instantiate(cmo, variant, params));
  exec.start();
  for (let n = 0; n < 1000 && !exec.bug; n++) {
    const enabled = exec.enabled();
    if (enabled.length === 0) break;
    exec.apply(enabled[0]);
  }
  const bug = exec.bug ?? exec.finish();
  if (!bug) expect(exec.enabled()).toEqual([]);
  const vcpu = exec.view.context<VcpuContext>('vcpu0');
  const vmm = exec.view.context<VmmContext>('vmm');
  const pte = (ipa: number) =>
    leToNumber(exec.memory.peek(vcpu.s2Table + 8 * ((ipa - vcpu.ipaBase) >> 12), 8));
  return { vcpu, vmm, pte, bug };
}

/** As runOnce, for a variant expected to pass. */
function passOnce(variant: string, params: Params) {
  const r = runOnce(variant, params);
  expect(r.bug).toBeUndefined();
  return r;
}

const one = (op: string, slot: string, extra: Params = {}) => ({ vcpu0: op, vcpu1: 'none', slot, ...extra });
const T = FSC_FAULT;
const P = FSC_PERM;

describe('cmo-ro-memslot: syndrome and decision procedure (domain-facts §4.1-4.3)', () => {
  it('a CMO abort has ISV=0, CM=1 and WnR=1, so KVM sees a write fault; a load has a valid syndrome', () => {
    for (const op of ['ivac', 'civac'] as const) {
      const esr = dataAbortEsr(op, FSC_FAULT | FSC_LEVEL3);
      expect(esr & ESR_ISV).toBe(0);
      expect(esr & ESR_CM).toBe(ESR_CM);
      expect(esr & ESR_WNR).toBe(ESR_WNR);
      expect(isWriteFault({ esr, iabt: false })).toBe(true);
    }
    const load = dataAbortEsr('load', FSC_FAULT | FSC_LEVEL3);
    expect(load & ESR_ISV).toBe(ESR_ISV);
    expect(isWriteFault({ esr: load, iabt: false })).toBe(false);
    expect([ESR_ISV, ESR_CM, ESR_S1PTW, ESR_WNR]).toEqual([1 << 24, 1 << 8, 1 << 7, 1 << 6]);
    expect([FSC_FAULT, FSC_ACCESS, FSC_PERM, KVM_EXIT_ARM_NISV]).toEqual([0x04, 0x08, 0x0c, 28]);
  });
  it('kvm_is_write_fault: S1PTW only on a permission fault, an instruction abort never', () => {
    const s1ptw = (fsc: number) => ({ esr: ESR_S1PTW | fsc, iabt: false });
    expect(isWriteFault(s1ptw(FSC_FAULT | 3))).toBe(false);
    expect(isWriteFault(s1ptw(FSC_PERM | 3))).toBe(true);
    expect(isWriteFault({ esr: ESR_WNR | FSC_PERM, iabt: true })).toBe(false);
  });
  it('NISV esr_iss keeps CM | WnR | FSC only', () => {
    expect(nisvIss(ESR_ISV | ESR_S1PTW | ESR_CM | ESR_WNR | 0x0f)).toBe(ESR_CM | ESR_WNR | 0x0f);
  });
  it('mainline: CMO with no memslot skipped, on a read-only slot to io_mem_abort (NISV or -ENOSYS), else user_mem_abort', () => {
    const cmoT = { esr: dataAbortEsr('civac', FSC_FAULT | 3), iabt: false };
    const none = { errorHva: true, writable: false };
    const ro = { errorHva: false, writable: false };
    const rw = { errorHva: false, writable: true };
    expect(handleGuestAbort(cmoT, none, mainlineCmo)).toBe('skip');
    expect(handleGuestAbort(cmoT, ro, mainlineCmo)).toBe('io-mem-abort');
    expect(handleGuestAbort(cmoT, rw, mainlineCmo)).toBe('user-mem-abort');
    expect(ioMemAbortExit(cmoT.esr, true)).toBe('nisv');
    expect(ioMemAbortExit(cmoT.esr, false)).toBe('-ENOSYS');
    expect(ioMemAbortExit(dataAbortEsr('store', FSC_FAULT | 3), true)).toBe('mmio');
    expect(handleGuestAbort({ esr: FSC_FAULT | 3, iabt: true }, none, mainlineCmo)).toBe('inject-pabt');
    expect(handleGuestAbort({ esr: ESR_S1PTW | ESR_CM | FSC_PERM | 3, iabt: false }, ro, mainlineCmo)).toBe(
      'inject-dabt',
    );
    expect(
      handleGuestAbort({ esr: dataAbortEsr('load', FSC_ACCESS | 3), iabt: false }, rw, mainlineCmo),
    ).toBe('access-flag');
  });
  it('the RFC and the alternatives differ only on a CMO permission fault on a read-only slot', () => {
    const ro = { errorHva: false, writable: false };
    const none = { errorHva: true, writable: false };
    const t = { esr: dataAbortEsr('ivac', FSC_FAULT | 3), iabt: false };
    const p = { esr: dataAbortEsr('ivac', FSC_PERM | 3), iabt: false };
    expect([rfcCmo, asCivacCmo, skipCmo].map((f) => handleGuestAbort(t, none, f))).toEqual([
      'skip',
      'skip',
      'skip',
    ]);
    expect([rfcCmo, asCivacCmo, skipCmo].map((f) => handleGuestAbort(t, ro, f))).toEqual([
      'user-mem-abort',
      'user-mem-abort',
      'skip',
    ]);
    expect([rfcCmo, asCivacCmo, skipCmo].map((f) => handleGuestAbort(p, ro, f))).toEqual([
      'inject-dabt',
      'civac-and-skip',
      'skip',
    ]);
    // user_mem_abort: the RFC counts a CMO translation fault as a read, its permission fault as a write.
    expect([cmoTranslationFaultAsRead(t), cmoTranslationFaultAsRead(p)]).toEqual([false, true]);
    expect([mainlineUserMemAbortWrite(t), mainlineUserMemAbortWrite(p)]).toEqual([true, true]);
  });
  it('stage 2: IVAC needs write permission, CIVAC read; a racing map keeps the entry it finds', () => {
    expect(stage2Fault(PTE_INVALID, 'civac')).toBe(FSC_FAULT | 3);
    expect(stage2Fault(PTE_RO, 'civac')).toBeUndefined();
    expect(stage2Fault(PTE_RO, 'ivac')).toBe(FSC_PERM | 3);
    expect(stage2Fault(PTE_RW, 'ivac')).toBeUndefined();
    expect(stage2Update(PTE_INVALID, FSC_FAULT | 3, false, true)).toBe(PTE_RO);
    expect(stage2Update(PTE_INVALID, FSC_FAULT | 3, true, true)).toBe(PTE_RW);
    expect(stage2Update(PTE_RO, FSC_FAULT | 3, true, true)).toBe(PTE_RO);
    expect(stage2Update(PTE_RW, FSC_FAULT | 3, false, true)).toBe(PTE_RW);
    expect(stage2Update(PTE_RO, FSC_PERM | 3, true, true)).toBe(PTE_RW);
    expect(stage2Update(PTE_RO, FSC_PERM | 3, true, false)).toBe(PTE_RO);
  });
});

describe('cmo-ro-memslot: one vCPU, step by step', () => {
  it('rfc-inject-dabt: DC IVAC on the read-only slot faults exactly twice, then a data abort at FAR = VA', () => {
    const { vcpu, pte } = passOnce('rfc-inject-dabt', one('ivac', 'ro'));
    expect(vcpu.ivacFaults).toBe(2);
    expect(vcpu.log).toHaveLength(1);
    const r = vcpu.log[0];
    expect(r.faults).toEqual([T, P]);
    expect(r.outcome).toBe('dabt');
    expect(r.far).toBe(r.va);
    expect(r.va).not.toBe(r.ipa);
    expect(r.pcDelta).toBe(0);
    expect(pte(r.ipa)).toBe(PTE_RO);
  });
  it('rfc-inject-dabt: DC CIVAC on the read-only slot maps it read-only, then succeeds', () => {
    const { vcpu, pte } = passOnce('rfc-inject-dabt', one('civac', 'ro'));
    expect(vcpu.log.map((r) => [r.faults, r.outcome, r.pcDelta])).toEqual([[[T], 'done', 4]]);
    expect(pte(vcpu.log[0].ipa)).toBe(PTE_RO);
    expect(vcpu.pc).toBe(START_PC + 4);
  });
  it('rfc-inject-dabt: on the read-write slot CIVAC maps read-only; IVAC then upgrades it by a permission fault', () => {
    const civac = passOnce('rfc-inject-dabt', one('civac', 'rw'));
    expect(civac.vcpu.log[0].faults).toEqual([T]);
    expect(civac.pte(civac.vcpu.log[0].ipa)).toBe(PTE_RO);
    const ivac = passOnce('rfc-inject-dabt', one('ivac', 'rw'));
    expect(ivac.vcpu.log.map((r) => [r.faults, r.outcome])).toEqual([[[T, P], 'done']]);
    expect(ivac.pte(ivac.vcpu.log[0].ipa)).toBe(PTE_RW);
  });
  it('every variant skips a CMO outside the memslots: PC += 4, no exit, no exception, no mapping', () => {
    for (const variant of Object.keys(cmo.variants)) {
      for (const op of ['ivac', 'civac']) {
        const { vcpu, vmm, pte } = passOnce(variant, one(op, 'absent'));
        expect(vcpu.log.map((r) => [r.slot, r.faults, r.outcome, r.pcDelta])).toEqual([
          ['absent', [T], 'skipped', 4],
        ]);
        expect(vcpu.pc).toBe(START_PC + 4);
        expect(vmm.exits).toEqual([]);
        expect(pte(vcpu.log[0].ipa)).toBe(PTE_INVALID);
      }
    }
  });
  it('mainline: a CMO on the read-only slot exits with KVM_EXIT_ARM_NISV, esr_iss masked, fault_ipa reported', () => {
    for (const op of ['ivac', 'civac']) {
      const { vcpu, vmm, pte } = passOnce('mainline', one(op, 'ro'));
      const r = vcpu.log[0];
      expect([r.faults, r.outcome, r.pcDelta]).toEqual([[T], 'nisv', 0]);
      expect(vmm.exits).toEqual([
        { type: 'exit', vcpu: 'vcpu0', reason: 28, ipa: r.ipa, esrIss: ESR_CM | ESR_WNR | FSC_FAULT | 3 },
      ]);
      expect(pte(r.ipa)).toBe(PTE_INVALID);
    }
  });
  it('mainline without KVM_CAP_ARM_NISV_TO_USER: -ENOSYS from KVM_RUN, no exit', () => {
    const { vcpu, vmm } = passOnce('mainline', one('ivac', 'ro', { nisv: false }));
    expect(vcpu.log.map((r) => r.outcome)).toEqual(['-ENOSYS']);
    expect(vmm.exits).toEqual([]);
  });
  it('mainline: on the read-write slot a CMO is a write fault that maps the page writable', () => {
    const { vcpu, pte } = passOnce('mainline', one('civac', 'rw'));
    expect(vcpu.log.map((r) => [r.faults, r.outcome])).toEqual([[[T], 'done']]);
    expect(pte(vcpu.log[0].ipa)).toBe(PTE_RW);
  });
  it('a store to the read-only slot is decodable MMIO: KVM_EXIT_MMIO, re-entered, PC += 4; a load maps it read-only', () => {
    const store = passOnce('mainline', one('store', 'ro'));
    expect(store.vcpu.log.map((r) => [r.outcome, r.pcDelta])).toEqual([['mmio', 4]]);
    expect(store.vmm.exits.map((e) => [e.reason, e.isWrite])).toEqual([[6, true]]);
    const load = passOnce('mainline', one('load', 'ro'));
    expect(load.vcpu.log.map((r) => [r.faults, r.outcome])).toEqual([[[T], 'done']]);
    expect(load.pte(load.vcpu.log[0].ipa)).toBe(PTE_RO);
  });
  it('the whole program (absent, read-write, read-only) under each variant', () => {
    const outcomes = (variant: string, op: string) =>
      passOnce(variant, one(op, 'all')).vcpu.log.map((r) => r.outcome);
    expect(outcomes('mainline', 'ivac')).toEqual(['skipped', 'done', 'nisv']);
    expect(outcomes('rfc-inject-dabt', 'ivac')).toEqual(['skipped', 'done', 'dabt']);
    expect(outcomes('rfc-inject-dabt', 'civac')).toEqual(['skipped', 'done', 'done']);
    expect(outcomes('as-civac', 'ivac')).toEqual(['skipped', 'done', 'civac-emulated']);
    expect(outcomes('skip-on-ro', 'ivac')).toEqual(['skipped', 'done', 'skipped']);
    // The 2016 code does what skip-on-ro does, and the mainline contract (C2) rejects it.
    const old = runOnce('2016-skip-all', one('civac', 'all'));
    expect(old.vcpu.log.map((r) => r.outcome)).toEqual(['skipped', 'done', 'skipped']);
    expect(old.bug?.invariant).toBe('C2-ro-cmo-reaches-userspace');
  });
});

describe('cmo-ro-memslot: two vCPUs fault on the same page', () => {
  // Both walks see the entry invalid; vcpu0 maps the page first, under the mmu lock; vcpu1
  // then finds it valid and leaves it (-EAGAIN), re-executes, and faults again if it needs more.
  function race(variant: string, vcpu0: string, vcpu1: string) {
    const exec = new Execution(instantiate(cmo, variant, { slot: 'rw', vcpu0, vcpu1 }), { record: true });
    exec.start();
    // walk, walk; vcpu0: acquire, read, write, release; vcpu1: acquire, read, release.
    for (const k of ['vcpu0', 'vcpu1', 'vcpu0', 'vcpu0', 'vcpu0', 'vcpu0', 'vcpu1', 'vcpu1', 'vcpu1'])
      applyKey(exec, k);
    while (!exec.bug && exec.enabled().length > 0) exec.apply(exec.enabled()[0]);
    expect(exec.bug ?? exec.finish()).toBeUndefined();
    const pteWrites = exec.records
      .filter((r) => r.access?.kind === 'write' && r.what.includes('s2 pte'))
      .map((r) => [r.actor, leToNumber(r.access?.bytes ?? [])]);
    const logs = ['vcpu0', 'vcpu1'].map((a) =>
      exec.view.context<VcpuContext>(a).log.map((r) => [r.op, r.faults, r.outcome]),
    );
    return { pteWrites, logs };
  }
  it('mainline: both CMOs are write faults; one RW mapping, the other vCPU finds it', () => {
    expect(race('mainline', 'ivac', 'civac')).toEqual({
      pteWrites: [['vcpu0', PTE_RW]],
      logs: [[['ivac', [T], 'done']], [['civac', [T], 'done']]],
    });
  });
  it('rfc-inject-dabt: CIVAC maps read-only; the racing IVAC finds it, faults again and upgrades it', () => {
    expect(race('rfc-inject-dabt', 'civac', 'ivac')).toEqual({
      pteWrites: [
        ['vcpu0', PTE_RO],
        ['vcpu1', PTE_RW],
      ],
      logs: [[['civac', [T], 'done']], [['ivac', [T, P], 'done']]],
    });
  });
});

describe('cmo-ro-memslot: every variant gets its verdict by exhaustive search', () => {
  for (const [variant, spec] of Object.entries(cmo.variants)) {
    it(`${variant}: ${spec.expect}`, async () => {
      const v = await verdict(variant);
      expect(v.verdict).toBe(spec.expect);
      if (spec.expect === 'pass') {
        expect(v.exhaustive).toBe(true);
        expect(v.schedules).toBeLessThan(5000);
      }
    });
  }
  it('2016-skip-all breaks C2: the CMO on the read-only slot is skipped instead of reaching userspace', async () => {
    const v = await verdict('2016-skip-all');
    expect(v.kind).toBe('invariant');
    expect(v.invariant).toBe('C2-ro-cmo-reaches-userspace');
    expect(v.message).toMatch(/read-only memslot.*skipped, PC \+= 4: C2 wants a KVM_EXIT_ARM_NISV exit/);
    // Without the NISV capability C2 wants -ENOSYS instead; still a skip.
    const enosys = await verdict('2016-skip-all', { nisv: false });
    expect(enosys.invariant).toBe('C2-ro-cmo-reaches-userspace');
    expect(enosys.message).toMatch(/C2 wants -ENOSYS from KVM_RUN/);
  });
  it('2016-skip-all is the skip-on-ro code: held to the skip-on-ro promise it passes, and skip-on-ro held to C2 fails', async () => {
    const v = await verdict('2016-skip-all', { contract: 'skip-on-ro' });
    expect(v.verdict).toBe('pass');
    expect(v.exhaustive).toBe(true);
    // And the other way round: skip-on-ro held to the mainline contract breaks C2.
    const w = await verdict('skip-on-ro', { contract: 'mainline' });
    expect(w.invariant).toBe('C2-ro-cmo-reaches-userspace');
  });
});

describe('cmo-ro-memslot: pass variants at other configurations (exhaustive)', () => {
  const passing = Object.entries(cmo.variants)
    .filter(([, s]) => s.expect === 'pass')
    .map(([n]) => n);
  it('both vCPUs on one page, any pair of CMOs, every slot', async () => {
    for (const variant of passing) {
      for (const slot of ['absent', 'ro', 'rw', 'all']) {
        for (const [vcpu0, vcpu1] of [
          ['ivac', 'ivac'],
          ['civac', 'civac'],
          ['civac', 'ivac'],
        ]) {
          const v = await verdict(variant, { slot, vcpu0, vcpu1 });
          expect([variant, slot, vcpu0, vcpu1, v.verdict, v.exhaustive]).toEqual([
            variant,
            slot,
            vcpu0,
            vcpu1,
            'pass',
            true,
          ]);
        }
      }
    }
  }, 60_000);
  it('a CMO racing a load or store of the other vCPU on the same pages', async () => {
    for (const variant of passing) {
      for (const vcpu0 of ['ivac', 'civac']) {
        for (const vcpu1 of ['load', 'store']) {
          const v = await verdict(variant, { vcpu0, vcpu1 });
          expect([variant, vcpu0, vcpu1, v.verdict, v.exhaustive]).toEqual([
            variant,
            vcpu0,
            vcpu1,
            'pass',
            true,
          ]);
        }
      }
    }
  }, 60_000);
  it('mainline without the NISV capability', async () => {
    const v = await verdict('mainline', { nisv: false });
    expect([v.verdict, v.exhaustive]).toEqual(['pass', true]);
  });
});

describe('cmo-ro-memslot: each invariant catches the code that breaks it', () => {
  it('C1: before 2016, a CMO outside the memslots went to io_mem_abort (NISV exit)', async () => {
    const ioAll = defineScenario({
      ...cmo,
      variants: {
        'pre-2016': {
          description: 'no CMO special case at all',
          provide: {
            'arm64-vcpu': {
              actions: {
                handleGuestAbort: arm64VcpuSetup.assign(({ context }) => ({
                  path: handleGuestAbort(
                    { esr: context.esr, iabt: false },
                    { errorHva: false, writable: false },
                    mainlineCmo,
                  ),
                })),
              },
            },
          },
        },
      },
    });
    const v = await verdict('pre-2016', {}, ioAll);
    expect(v.invariant).toBe('C1-cmo-outside-memslots-skipped');
    expect(v.message).toMatch(/outside every memslot: translation fault\(s\), then nisv/);
  });
  it('C2: a user_mem_abort that ignores the read-only flag maps the slot writable', async () => {
    const mapsWritable = arm64VcpuSetup.enqueueActions(({ context, enqueue }) => {
      const ipa = context.program[context.k].ipa;
      enqueue(
        write(context.s2Table + 8 * ((ipa - context.ipaBase) >> 12), toLe(PTE_RW, 8), 's2 pte', 'atomic'),
      );
      enqueue(release(context.mmuLock));
    });
    const bad = defineScenario({
      ...cmo,
      variants: {
        'ignores-ro': {
          description: 'the RFC, mapping every fault writable',
          params: { contract: 'rfc' },
          provide: {
            'arm64-vcpu': {
              actions: {
                ...cmo.variants['rfc-inject-dabt'].provide!['arm64-vcpu'].actions,
                updatePteAndUnlock: mapsWritable,
              },
            },
          },
        },
      },
    });
    const v = await verdict('ignores-ro', { slot: 'ro' }, bad);
    expect(v.invariant).toBe('C2-no-writable-mapping-on-ro');
    expect(v.message).toMatch(/mapped the read-only memslot RW at stage 2/);
  });
  it('C3: the RFC without its user_mem_abort change fails KVM_RUN with -EFAULT', async () => {
    const noRead = defineScenario({
      ...cmo,
      variants: {
        'rfc-no-read': {
          description: 'the RFC error branch, mainline user_mem_abort',
          params: { contract: 'rfc' },
          provide: {
            'arm64-vcpu': {
              actions: {
                handleGuestAbort:
                  cmo.variants['rfc-inject-dabt'].provide!['arm64-vcpu'].actions!.handleGuestAbort,
              },
            },
          },
        },
      },
    });
    const v = await verdict('rfc-no-read', {}, noRead);
    expect(v.invariant).toBe('C3-rfc-ro-cmo');
    expect(v.message).toMatch(/then -EFAULT/);
  });
  it('C3, as-civac and skip-on-ro: each contract rejects the others’ code', async () => {
    const rfcAsMainline = await verdict('mainline', { contract: 'rfc' });
    expect(rfcAsMainline.invariant).toBe('C3-rfc-ro-cmo');
    const civacAsRfc = await verdict('rfc-inject-dabt', { contract: 'as-civac' });
    expect(civacAsRfc.invariant).toBe('as-civac-ro-cmo-completes');
    expect(civacAsRfc.message).toMatch(/DC IVAC .* then dabt/);
    const skipAsMainline = await verdict('mainline', { contract: 'skip-on-ro' });
    expect(skipAsMainline.invariant).toBe('skip-on-ro-ro-cmo-skipped');
    const rfcAsCivac = await verdict('as-civac', { contract: 'rfc' });
    expect(rfcAsCivac.invariant).toBe('C3-rfc-ro-cmo');
  });
  it('C4: a CMO taken for decodable MMIO', async () => {
    const onlyC4 = defineScenario({
      ...cmo,
      invariants: { C4: cmo.invariants!['C4-cmo-never-decodable-mmio'] },
      variants: {
        'isv-trusted': {
          description: 'io_mem_abort decoding without looking at ISV',
          provide: { 'arm64-vcpu': { guards: { exitsMmio: () => true } } },
        },
      },
    });
    const v = await verdict('isv-trusted', {}, onlyC4);
    expect(v.invariant).toBe('C4');
    expect(v.message).toMatch(/a CMO was emulated as decodable MMIO/);
  });
});
