import { type DeviceModelContext, deviceModel } from '../machines/device-model.ts';
import { emulatePassWith, hvmVcpu, type VcpuContext } from '../machines/hvm-vcpu.ts';
import {
  IOREQ_OFF,
  IOREQ_SIZE,
  portOf,
  STATE_IOREQ_INPROCESS,
  STATE_IOREQ_NONE,
  STATE_IOREQ_READY,
  STATE_IORESP_READY,
  STATE_NAMES,
  slotBase,
  stateOf,
} from '../machines/ioreq.ts';
import { MMIO_CACHE_ENTRIES, MMIO_CACHE_SPACE, noCachePolicy, preFixPolicy } from '../machines/mmio-cache.ts';
import { cmpsq, descriptorLoad, type Instruction, movLoad, movsq } from '../machines/x86-instruction.ts';
import { defineScenario, toLe, type WorldView } from '../src/index.ts';

/**
 * Seed 000: Xen HVM MMIO emulation split at page boundaries, the MMIO cache, and the fix
 * 672894a11f "x86/HVM: correct read/write split at page boundaries" (domain-facts §1).
 *
 * Guest linear addresses map one to one onto guest physical ones. Pages 0x1000-0x4fff and
 * 0x6000 are emulated MMIO behind one device model (a FIFO: reads pop bytes); 0x5000 and
 * 0x7000 are RAM. Each vCPU has its slot in the shared ioreq page.
 */
const IOREQ_PAGE = 0xfe000;

/** The instructions each case runs, per vCPU. */
const PROGRAMS: Record<string, readonly (readonly Instruction[])[]> = {
  // §1.6 A: CMPSQ src=P-4, dst=P with pages P-1 and P both MMIO (P = 0x2000).
  aliasing: [[cmpsq(0x1ffc, 0x2000)]],
  // §1.6 B: MOVSQ with both operands straddling MMIO pages: 4 entries before the fix.
  capacity: [[movsq(0x2ffc, 0x3ffc)]],
  // Both at once, on two vCPUs sharing the device model.
  both: [[cmpsq(0x1ffc, 0x2000)], [movsq(0x2ffc, 0x3ffc)]],
  // §1.6 C: an 8-byte read at P-4 with P-1 RAM and P MMIO, and the reverse.
  'ram-to-mmio': [[movLoad(0x5ffc)]],
  'mmio-to-ram': [[movLoad(0x6ffc)]],
  // §1.6 "Remaining limitation": selector and descriptor read at one MMIO address.
  descriptor: [[descriptorLoad(0x1000)]],
};

const vcpuNames = (program: string) => PROGRAMS[program].map((_, i) => `vcpu${i}`);

function slotOf(addr: number): { vcpu: number; field: number } | undefined {
  if (addr < IOREQ_PAGE || addr >= IOREQ_PAGE + 4096) return undefined;
  return { vcpu: Math.floor((addr - IOREQ_PAGE) / IOREQ_SIZE), field: (addr - IOREQ_PAGE) % IOREQ_SIZE };
}

function hex(n: number): string {
  return '0x' + n.toString(16);
}

function hexBytes(b: readonly number[]): string {
  return b.map((x) => x.toString(16).padStart(2, '0')).join(' ');
}

/** The vCPUs and their contexts, computed once per step for all the invariants. */
const vcpuCache = new WeakMap<
  WorldView,
  { step: number; names: string[]; list: { name: string; ctx: VcpuContext }[] }
>();
const vcpus = (view: WorldView) => {
  let c = vcpuCache.get(view);
  if (!c) {
    c = { step: -1, names: view.actorNames.filter((n) => n.startsWith('vcpu')), list: [] };
    vcpuCache.set(view, c);
  }
  if (c.step !== view.stepCount) {
    c.step = view.stepCount;
    c.list = c.names.map((n) => ({ name: n, ctx: view.context<VcpuContext>(n) }));
  }
  return c.list;
};

/**
 * The vCPUs whose context changed since a check last passed on them. Contexts are
 * immutable (xstate assign), and I4-I7 read nothing else that changes after the fact
 * (page types are fixed; RAM an instruction read or wrote stays as it was), so an
 * unchanged context needs no second look.
 */
function changedVcpus(view: WorldView, seen: WeakMap<object, object>, also?: object) {
  return vcpus(view).filter(({ ctx }) => seen.get(ctx) !== (also ?? ctx));
}
function markSeen(seen: WeakMap<object, object>, ctx: object, also?: object) {
  seen.set(ctx, also ?? ctx);
}
const seenI4 = new WeakMap<object, object>();
const seenI5 = new WeakMap<object, object>();
const seenI6 = new WeakMap<object, object>();
const seenI7 = new WeakMap<object, object>();

/** Allowed slot state changes, and who makes them (§1.7 I1). */
const I1_ALLOWED: Record<string, 'vcpu' | 'dm'> = {
  [`${STATE_IOREQ_NONE}>${STATE_IOREQ_NONE}`]: 'vcpu', // the request copy, written with state NONE
  [`${STATE_IOREQ_NONE}>${STATE_IOREQ_READY}`]: 'vcpu',
  [`${STATE_IOREQ_READY}>${STATE_IOREQ_INPROCESS}`]: 'dm',
  [`${STATE_IOREQ_INPROCESS}>${STATE_IORESP_READY}`]: 'dm',
  [`${STATE_IORESP_READY}>${STATE_IOREQ_NONE}`]: 'vcpu',
};

export default defineScenario({
  name: 'mmio-split',
  seed: '000',
  description:
    'Xen HVM MMIO emulation: ioreq round trips, re-emulation, the 3-entry MMIO cache and operands split at page boundaries (672894a11f)',
  params: {
    program: {
      default: 'both',
      values: Object.keys(PROGRAMS),
      description:
        'which instructions the vCPUs run (aliasing, capacity, both, ram-to-mmio, mmio-to-ram, descriptor)',
    },
    build: {
      default: 'debug',
      values: ['debug', 'release'],
      description: 'debug: Xen ASSERTs fire; release: they are compiled out and the wrong data shows',
    },
  },
  memory: ({ program }) => [
    {
      name: 'ioreq page',
      base: IOREQ_PAGE,
      pages: 1,
      type: 'ram',
      // Xen writes each vCPU's event-channel port into vp_eport (§1.2).
      init: PROGRAMS[program].flatMap((_, i) => {
        const slot = new Array(IOREQ_SIZE).fill(0);
        toLe(portOf(i), 4).forEach((b, j) => {
          slot[IOREQ_OFF.vpEport + j] = b;
        });
        return slot;
      }),
    },
    { name: 'device window', base: 0x1000, pages: 4, type: 'mmio' },
    { name: 'ram below', base: 0x5000, pages: 1, type: 'ram', init: (o) => 0x50 + (o % 0x40) },
    { name: 'device page', base: 0x6000, pages: 1, type: 'mmio' },
    { name: 'ram above', base: 0x7000, pages: 1, type: 'ram', init: (o) => 0x90 + (o % 0x40) },
  ],
  actors: ({ program, build }) => {
    const names = vcpuNames(program);
    return {
      ...Object.fromEntries(
        names.map((name, id) => [
          name,
          {
            machine: hvmVcpu,
            input: { id, dm: 'dm', ioreqPage: IOREQ_PAGE, program: PROGRAMS[program][id], build },
          },
        ]),
      ),
      dm: {
        machine: deviceModel,
        input: { ioreqPage: IOREQ_PAGE, vcpus: names.map((actor, id) => ({ actor, id, port: portOf(id) })) },
      },
    };
  },
  invariants: {
    // I1: the slot state advances only NONE→READY (V) →INPROCESS (DM) →IORESP_READY (DM) →NONE (V).
    I1: {
      kind: 'local',
      check(view) {
        const dm = view.context<DeviceModelContext>('dm');
        if (dm.failure) return dm.failure;
        const s = view.lastStep;
        const a = s?.access;
        if (!s || !a || a.kind !== 'write' || !a.bytes || !a.before) return;
        const slot = slotOf(a.addr);
        if (!slot || slot.field !== IOREQ_OFF.stateByte || a.width !== 1) return;
        const from = stateOf(a.before[0]);
        const to = stateOf(a.bytes[0]);
        const who = I1_ALLOWED[`${from}>${to}`];
        const actor = s.actor === 'dm' ? 'dm' : 'vcpu';
        if (who !== actor || (actor === 'vcpu' && s.actor !== `vcpu${slot.vcpu}`)) {
          return `${s.actor} moved vcpu${slot.vcpu}'s slot ${STATE_NAMES[from] ?? from} → ${STATE_NAMES[to] ?? to}`;
        }
      },
    },
    // I2: contents before READY; DM reads contents only after READY; data before IORESP_READY.
    I2(view) {
      const s = view.lastStep;
      const a = s?.access;
      if (!s || !a?.bytes) return;
      const slot = slotOf(a.addr);
      if (!slot) return;
      const base = slotBase(IOREQ_PAGE, slot.vcpu);
      const state = stateOf(view.peek(base + IOREQ_OFF.stateByte, 1)[0]);
      if (
        a.kind === 'write' &&
        slot.field === IOREQ_OFF.stateByte &&
        state === STATE_IOREQ_READY &&
        s.actor !== 'dm'
      ) {
        const o = view.context<VcpuContext>(s.actor).outcome;
        if (o?.kind !== 'issue') return `${s.actor} set READY with no request to issue`;
        const addr = view.peek(base + IOREQ_OFF.addr, 8);
        const size = view.peek(base + IOREQ_OFF.size, 4);
        if (addr.join() !== toLe(o.req.addr, 8).join() || size.join() !== toLe(o.req.size, 4).join()) {
          return `${s.actor} set READY before the request (${o.req.dir} ${hex(o.req.addr)}/${o.req.size}) was in the slot`;
        }
      }
      if (
        a.kind === 'read' &&
        s.actor === 'dm' &&
        slot.field !== IOREQ_OFF.stateByte &&
        state !== STATE_IOREQ_INPROCESS
      ) {
        return `dm read vcpu${slot.vcpu}'s request field at +${slot.field} while the slot was ${STATE_NAMES[state]}`;
      }
      if (a.kind === 'write' && slot.field === IOREQ_OFF.stateByte && state === STATE_IORESP_READY) {
        const dm = view.context<DeviceModelContext>('dm');
        const data = view.peek(base + IOREQ_OFF.data, 8);
        const want = [...dm.response, ...new Array(8 - dm.response.length).fill(0)];
        if (data.join() !== want.join())
          return `dm set IORESP_READY before its data was in vcpu${slot.vcpu}'s slot`;
      }
    },
    // I3: a re-issued request equals the latched one, else domain_crash.
    I3: {
      kind: 'local',
      check(view) {
        for (const { name, ctx } of vcpus(view)) {
          if (ctx.failure?.startsWith('domain_crash')) return `${name}: ${ctx.failure}`;
        }
      },
    },
    // I4: each (operand, chunk) reaches the DM once per instruction; operands get the device's bytes.
    I4: {
      kind: 'stable',
      check(view) {
        const dm = view.context<DeviceModelContext>('dm');
        for (const { name, ctx } of changedVcpus(view, seenI4, dm)) {
          const seen = new Set<string>();
          for (const i of ctx.ghost.issued) {
            const key = `${i.insn}/${i.operand}/${i.offset}`;
            if (seen.has(key)) {
              return `${name} sent ${i.req.dir} ${hex(i.req.addr)}/${i.req.size} (${i.operand} +${i.offset}) to the device model a second time, on pass ${i.pass}`;
            }
            seen.add(key);
          }
          const served = dm.device.log.filter((l) => l.vcpu === ctx.id);
          for (let k = 0; k < served.length; k++) {
            const i = ctx.ghost.issued[k];
            const d = served[k];
            if (!i || i.req.addr !== d.gpa || i.req.size !== d.size || i.req.dir !== d.dir) {
              return `the device served ${d.dir} ${hex(d.gpa)}/${d.size} for ${name}, which did not issue it`;
            }
            const got = i.req.dir === 'read' ? i.response : undefined;
            if (got && got.join() !== d.data.join()) {
              return `${name} got ${hexBytes(got)} for ${d.dir} ${hex(d.gpa)}/${d.size}, but the device returned ${hexBytes(d.data)}`;
            }
            if (d.dir === 'write' && i.req.data.join() !== d.data.join()) {
              return `the device got ${hexBytes(d.data)} for ${name}'s write to ${hex(d.gpa)}/${d.size}, not ${hexBytes(i.req.data)}`;
            }
          }
          for (const r of ctx.ghost.retired) {
            const insn = ctx.program[r.insn];
            for (const acc of insn.accesses) {
              for (let o = 0; o < acc.size; o++) {
                const addr = acc.addr + o;
                const want = acc.dir === 'read' ? r.values[acc.operand]?.[o] : r.values[acc.from ?? '']?.[o];
                if (view.pageType(addr) !== 'mmio') {
                  const mem = view.peek(addr, 1)[0];
                  if (mem !== want)
                    return `${name} ${insn.mnemonic}: ${acc.operand} byte at ${hex(addr)} is ${want}, RAM holds ${mem}`;
                  continue;
                }
                const chunks = ctx.ghost.issued.filter(
                  (i) =>
                    i.insn === r.insn &&
                    i.operand === acc.operand &&
                    i.offset <= o &&
                    o < i.offset + i.req.size,
                );
                if (chunks.length === 0) {
                  return `${name} ${insn.mnemonic}: ${acc.operand} byte at ${hex(addr)} never went to the device (it came from a cache entry of another access)`;
                }
                const c = chunks[0];
                const dev = acc.dir === 'read' ? c.response?.[o - c.offset] : c.req.data[o - c.offset];
                if (dev !== want) {
                  return `${name} ${insn.mnemonic}: ${acc.operand} byte at ${hex(addr)} is ${want}, the device ${acc.dir === 'read' ? 'returned' : 'was sent'} ${dev}`;
                }
              }
            }
          }
          markSeen(seenI4, ctx, dm);
        }
      },
    },
    // I5: chunks are powers of two ≤ 8, within a page, and issued at offset == cache.size.
    I5: {
      kind: 'local',
      check(view) {
        for (const { name, ctx } of changedVcpus(view, seenI5)) {
          for (const i of ctx.ghost.issued) {
            const { addr, size } = i.req;
            if (![1, 2, 4, 8].includes(size)) return `${name} issued a ${size}-byte chunk at ${hex(addr)}`;
            if ((addr % 4096) + size > 4096)
              return `${name} issued a chunk crossing a page at ${hex(addr)}/${size}`;
            if (i.entryOffset !== i.cacheSize) {
              return `${name} issued ${i.operand} +${i.offset} at cache offset ${i.entryOffset} with cache.size ${i.cacheSize}`;
            }
          }
          markSeen(seenI5, ctx);
        }
      },
    },
    // I6: at most 3 entries of at most 64 bytes; skip ≤ size; one operand per entry.
    I6: {
      kind: 'local',
      check(view) {
        for (const { name, ctx } of changedVcpus(view, seenI6)) {
          if (ctx.cache.length > MMIO_CACHE_ENTRIES)
            return `${name} has ${ctx.cache.length} MMIO cache entries`;
          for (const e of ctx.cache) {
            if (e.size > MMIO_CACHE_SPACE || e.skip > e.size)
              return `${name}: entry ${hex(e.gla)} has skip ${e.skip}, size ${e.size}`;
            if (e.users.length > 1) {
              return `${name}: operands ${e.users.join(' and ')} share the MMIO cache entry keyed ${hex(e.gla)} (${e.dir})`;
            }
          }
          markSeen(seenI6, ctx);
        }
      },
    },
    // I7: the RAM part of a straddling operand goes to RAM on every pass, never to the DM.
    I7: {
      kind: 'local',
      check(view) {
        for (const { name, ctx } of changedVcpus(view, seenI7)) {
          for (const p of ctx.ghost.pieces) {
            if (p.path === 'mmio' && view.pageType(p.addr) !== 'mmio') {
              return `${name} pass ${p.pass}: RAM piece ${hex(p.addr)}/${p.bytes} of ${p.operand} took the MMIO path`;
            }
          }
          for (const i of ctx.ghost.issued) {
            if (view.pageType(i.req.addr) !== 'mmio')
              return `${name} sent RAM address ${hex(i.req.addr)} to the device model`;
          }
          markSeen(seenI7, ctx);
        }
      },
    },
    // The guest is not faulted for a valid instruction (UNHANDLEABLE on the first-fault path injects #GP(0)).
    'no-spurious-fault': {
      kind: 'local',
      check(view) {
        for (const { name, ctx } of vcpus(view)) {
          if (ctx.failure?.startsWith('#'))
            return `${name}: ${ctx.failure} on ${ctx.program[ctx.insn]?.mnemonic}`;
        }
      },
    },
  },
  bounds: { actorSteps: 2000 },
  defaultVariant: 'fixed',
  variants: {
    'no-cache': {
      description: 'no MMIO cache: re-emulation re-issues the earlier device accesses of the instruction',
      expect: 'bug',
      provide: { 'hvm-vcpu': { actions: { emulatePass: emulatePassWith(noCachePolicy) } } },
    },
    'pre-fix': {
      description:
        'entries keyed by each piece’s own address (XEN@672894a11f^): CMPSQ aliasing and MOVSQ capacity',
      expect: 'bug',
      provide: { 'hvm-vcpu': { actions: { emulatePass: emulatePassWith(preFixPolicy) } } },
    },
    fixed: {
      description: '672894a11f: entries keyed by the operand’s start, with skip',
      expect: 'pass',
    },
    'ram-to-mmio': {
      description: 'fixed code, an 8-byte read at P-4 with P-1 RAM and P MMIO (§1.6 C)',
      expect: 'pass',
      params: { program: 'ram-to-mmio' },
    },
    'mmio-to-ram': {
      description: 'fixed code, an 8-byte read at P-4 with P-1 MMIO and P RAM (§1.6 C)',
      expect: 'pass',
      params: { program: 'mmio-to-ram' },
    },
    'descriptor-table': {
      description:
        'fixed code, a 2-byte selector and an 8-byte descriptor read at one MMIO address: the limitation the patch notes predict',
      expect: 'bug',
      params: { program: 'descriptor' },
    },
  },
});
