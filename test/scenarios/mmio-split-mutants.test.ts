/**
 * Mutation tests for the mmio-split checkers: each mutant breaks one rule of the ioreq
 * protocol or of the emulator, and the invariant that guards that rule must catch it. The
 * bundled variants never trip I1, I2, I5 or I7; these mutants prove that they can.
 */
import { describe, expect, it } from 'vitest';
import { type DeviceModelContext, deviceModelSetup as dm } from '../../machines/device-model.ts';
import { deviceAccess } from '../../machines/fifo-device.ts';
import { emulatePassWith, hvmVcpuSetup as vcpu } from '../../machines/hvm-vcpu.ts';
import {
  dirOf,
  IOREQ_OFF,
  portOf,
  STATE_IOREQ_NONE,
  STATE_IOREQ_READY,
  STATE_IORESP_READY,
  slotBase,
  stateByte,
} from '../../machines/ioreq.ts';
import {
  type CacheEntry,
  type CachePolicy,
  fixedPolicy,
  MMIO_CACHE_SPACE,
} from '../../machines/mmio-cache.ts';
import mmioSplit from '../../scenarios/mmio-split.ts';
import {
  check,
  defineScenario,
  leToNumber,
  type ParamValue,
  read,
  resultBytes,
  send,
  toLe,
  type VariantSpec,
  write,
} from '../../src/index.ts';

const dmSlot = (c: DeviceModelContext) => slotBase(c.ioreqPage, c.vcpus[c.current].id);
const pad8 = (b: readonly number[]) => [...b, ...new Array(8 - b.length).fill(0)];
const newEntry = (gla: number, dir: CacheEntry['dir']): CacheEntry => ({
  gla,
  dir,
  skip: 0,
  size: 0,
  buffer: new Array(MMIO_CACHE_SPACE).fill(0),
  users: [],
});

/** Pre-fix keying without the 3-entry limit. */
const unboundedPolicy: CachePolicy = {
  name: 'unbounded',
  tryRamFirst: (cache, p) => !cache.some((e) => e.gla === p.addr && e.dir === p.dir),
  entryFor(cache, p) {
    let entry = cache.find((e) => e.gla === p.addr && e.dir === p.dir);
    if (!entry) cache.push((entry = newEntry(p.addr, p.dir)));
    return { entry, offset: 0, kept: true };
  },
};

/** Fixed keying, but a new entry forgets its skip: the tail chunk lands at offset 4 of an empty entry. */
const noSkipPolicy: CachePolicy = {
  name: 'no-skip',
  tryRamFirst: fixedPolicy.tryRamFirst,
  entryFor(cache, p) {
    let entry = cache.find((e) => e.gla === p.start && e.dir === p.dir);
    if (!entry) cache.push((entry = newEntry(p.start, p.dir)));
    return { entry, offset: p.addr - p.start, kept: true };
  },
};

/** Never tries RAM: every piece goes down the MMIO path. */
const alwaysMmioPolicy: CachePolicy = {
  name: 'always-mmio',
  tryRamFirst: () => false,
  entryFor: fixedPolicy.entryFor,
};

type Mutant = VariantSpec<Record<string, ParamValue>> & { readonly catches: RegExp };

const mutants: Record<string, Mutant> = {
  'dm-clears-slot': {
    description: 'the device model writes NONE into the slot itself (INPROCESS → NONE by dm)',
    provide: {
      'device-model': {
        actions: {
          writeBackAndRecheck: dm.enqueueActions(({ context, enqueue }) => {
            const none = stateByte(STATE_IOREQ_NONE, context.req!.dir);
            enqueue(write(dmSlot(context) + IOREQ_OFF.stateByte, [none], 'state=NONE'));
            enqueue(read(dmSlot(context) + IOREQ_OFF.stateByte, 1, 'state'));
          }),
        },
      },
    },
    catches: /I1 broken: dm moved vcpu\d's slot INPROCESS → NONE/,
  },
  'dm-reads-before-claim': {
    description: 'the device model copies the request without setting INPROCESS first',
    provide: {
      'device-model': {
        actions: {
          claimAndCopy: dm.enqueueActions(({ context, enqueue }) => {
            enqueue(read(dmSlot(context) + IOREQ_OFF.addr, 8, 'addr'));
            enqueue(read(dmSlot(context) + IOREQ_OFF.data, 8, 'data'));
            enqueue(read(dmSlot(context) + IOREQ_OFF.size, 4, 'size'));
            enqueue(read(dmSlot(context) + IOREQ_OFF.stateByte, 1, 'dir'));
          }),
        },
      },
    },
    catches: /I2 broken: dm read vcpu\d's request field at \+0 while the slot was READY/,
  },
  'dm-publishes-before-data': {
    description: 'IORESP_READY is set before the data is written back',
    provide: {
      'device-model': {
        actions: {
          writeBackAndRecheck: dm.enqueueActions(({ context, enqueue }) => {
            enqueue(read(dmSlot(context) + IOREQ_OFF.stateByte, 1, 'state'));
          }),
          respond: dm.enqueueActions(({ context, enqueue }) => {
            const v = context.vcpus[context.current];
            enqueue(
              write(dmSlot(context) + IOREQ_OFF.stateByte, [stateByte(STATE_IORESP_READY, context.req!.dir)]),
            );
            enqueue(write(dmSlot(context) + IOREQ_OFF.data, pad8(context.response)));
            enqueue(send(v.actor, { type: 'evtchn', port: v.port }));
          }),
        },
      },
    },
    catches: /I2 broken: dm set IORESP_READY before its data was in vcpu\d's slot/,
  },
  'dm-never-notifies': {
    description: 'the device model answers but never notifies the vCPU',
    provide: {
      'device-model': {
        actions: {
          respond: dm.enqueueActions(({ context, enqueue }) => {
            enqueue(
              write(dmSlot(context) + IOREQ_OFF.stateByte, [stateByte(STATE_IORESP_READY, context.req!.dir)]),
            );
          }),
        },
      },
    },
    catches: /liveness: vcpu\d ended in hot state 'waitingForIo'/,
  },
  'dm-corrupts-data': {
    description: 'the device model hands back bytes other than those the device returned',
    provide: {
      'device-model': {
        actions: {
          handle: dm.assign(({ context, event }) => {
            const size = leToNumber(resultBytes(event, 'size'));
            const dir = dirOf(resultBytes(event, 'dir')[0]);
            const addr = leToNumber(resultBytes(event, 'addr'));
            const wdata = dir === 'write' ? resultBytes(event, 'data').slice(0, size) : [];
            const id = context.vcpus[context.current].id;
            const { device, data } = deviceAccess(context.device, id, addr, size, dir, wdata);
            return { req: { addr, size, dir, data: wdata }, device, response: data.map((b) => b ^ 1) };
          }),
        },
      },
    },
    catches: /I4 broken: vcpu\d got .* but the device returned/,
  },
  'vcpu-ready-before-copy': {
    description: 'the vCPU sets READY before copying the request into the slot',
    provide: {
      'hvm-vcpu': {
        actions: {
          writeRequest: vcpu.enqueueActions(({ context, enqueue }) => {
            if (context.outcome?.kind !== 'issue') return;
            const { req } = context.outcome;
            const base = slotBase(context.ioreqPage, context.id);
            enqueue(
              write(base + IOREQ_OFF.stateByte, [stateByte(STATE_IOREQ_READY, req.dir)], 'state=READY'),
            );
            enqueue(write(base + IOREQ_OFF.addr, toLe(req.addr, 8), 'addr'));
            enqueue(write(base + IOREQ_OFF.size, toLe(req.size, 4), 'size'));
            enqueue(send(context.dm, { type: 'evtchn', port: portOf(context.id) }));
          }),
        },
      },
    },
    catches: /I2 broken: vcpu\d set READY before the request/,
  },
  'vcpu-drops-response': {
    description: 'the vCPU forgets the latched response, so re-emulation issues the chunk again',
    provide: {
      'hvm-vcpu': {
        actions: {
          latchResponse: vcpu.assign(({ context }) => ({
            latch: { state: 'NONE' as const },
            pass: context.pass + 1,
            answers: [],
          })),
        },
      },
    },
    catches: /I4 broken: vcpu\d sent read 0x[0-9a-f]+\/\d \(\w+ \+\d\) to the device model a second time/,
  },
  'unbounded-cache': {
    description: 'pre-fix keying without the 3-entry limit',
    params: { program: 'capacity' },
    provide: { 'hvm-vcpu': { actions: { emulatePass: emulatePassWith(unboundedPolicy) } } },
    catches: /I6 broken: vcpu0 has 4 MMIO cache entries/,
  },
  'no-skip': {
    description: 'a new entry ignores skip (release build, so the ASSERT does not stop it first)',
    params: { program: 'ram-to-mmio', build: 'release' },
    provide: { 'hvm-vcpu': { actions: { emulatePass: emulatePassWith(noSkipPolicy) } } },
    catches: /I5 broken: vcpu0 issued src \+4 at cache offset 4 with cache.size 0/,
  },
  'ram-via-mmio': {
    description: 'RAM pieces are forced down the MMIO path',
    params: { program: 'ram-to-mmio' },
    provide: { 'hvm-vcpu': { actions: { emulatePass: emulatePassWith(alwaysMmioPolicy) } } },
    catches:
      /I7 broken: vcpu0 (pass 1: RAM piece 0x5ffc\/4 of src took the MMIO path|sent RAM address 0x5ffc)/,
  },
};

const mutantScenario = defineScenario({
  ...mmioSplit,
  name: 'mmio-split-mutants',
  variants: Object.fromEntries(
    Object.entries(mutants).map(([k, v]) => [k, { ...v, expect: 'bug' as const }]),
  ),
});

describe('mmio-split checkers catch a mutant of each rule', () => {
  for (const [name, m] of Object.entries(mutants)) {
    it(`${name}: ${m.description}`, async () => {
      const r = await check(mutantScenario, { variants: [name], maxSchedules: 50, traceDir: null });
      const v = r.results[0];
      expect(v.error).toBeUndefined();
      expect(v.verdict).toBe('bug');
      expect(v.message).toMatch(m.catches);
    });
  }
});
