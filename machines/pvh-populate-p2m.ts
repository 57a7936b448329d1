import { assign, enqueueActions, setup } from 'xstate';
import { assert, type DoneEvent, type OperationEvent, read, resultBytes, send, write } from '../src/index.ts';
import type { PhaseDoneEvent, PhaseInput, RunEvent } from './dom0-build-order.ts';
import { E820_RAM, type E820Entry, MB1_PAGES } from './e820.ts';
import {
  advanceWalk,
  type MmioWalk,
  startWalk,
  walkContinues,
  walkFailed,
  walkGfn,
} from './modify-identity-mmio.ts';
import {
  type Caller,
  callerCode,
  callerName,
  decodeEntry,
  describeCallAt,
  entryAddr,
  guestPhysmapAddEntry,
  INVALID_MFN,
  outcomeChanges,
  outcomeStores,
  P2M_RAM_RW,
  type P2mCall,
  type P2mEntry,
  type P2mOutcome,
  p2mTypeName,
  queryMfn,
  setMmioP2mEntry,
} from './p2m.ts';

/**
 * `pvh_populate_p2m` (XEN:xen/arch/x86/hvm/dom0_build.c), the low-MiB part.
 *
 * Old flow (XEN@6b4f6a31ac^, domain-facts §5.3): `modify_identity_mmio(0, 256)` maps the
 * whole low MiB as mmio_direct, then each E820_RAM range is populated
 * (`pvh_populate_memory_range` → `guest_physmap_add_page`) and, below 1 MiB, the host's
 * bytes are copied in (`hvm_copy_to_guest_phys`), "replacing the respective mappings".
 *
 * 6b4f6a31ac (§5.4 item 2): RAM first, with the copy; then every GFN 0-255 still unmapped
 * (`get_gfn_query` gives INVALID_MFN) gets `set_mmio_p2m_entry(gfn, gfn, 4K)`; an entry
 * already present must be p2m_ram_rw (ASSERT); any error fails the build ("Failed to
 * identity map PFN"). The guard `ramFirst` says which flow.
 *
 * Pages are populated one 4K entry at a time: guest_physmap_add_entry checks every page
 * of a higher order the same way, lowest first, so the first failing GFN is the same.
 * Guest page contents are modelled as one signature byte per GFN (`mem.frames`).
 */
export interface PopulateContext extends PhaseInput {
  /** Who the current p2m call is made for. */
  readonly caller: Caller;
  readonly gfn: number;
  readonly walk: MmioWalk | undefined;
  readonly ram: readonly E820Entry[];
  readonly r: number;
  /** The next frame the allocator hands out for RAM. */
  readonly nextMfn: number;
  /** get_gfn_query's result for the hole scan. */
  readonly queried: P2mEntry | undefined;
  readonly call: P2mCall | undefined;
  readonly outcome: P2mOutcome | undefined;
  /** The host bytes being copied below 1 MiB. */
  readonly copy: readonly number[];
  readonly rc: number;
  readonly detail: string | undefined;
}

type PopulateEvent = RunEvent | DoneEvent;

/** RAM frames come from the heap, well away from the identity range. */
export const FIRST_RAM_MFN = 0x1000;

const hex = (n: number) => `0x${n.toString(16)}`;
const range = (context: PopulateContext) => context.ram[context.r];
const lowEnd = (e: E820Entry) => Math.min(e.start + e.pages, MB1_PAGES);
const record = (context: PopulateContext, fn: P2mCall['fn'], before: P2mEntry, outcome: P2mOutcome) => ({
  outcome,
  call: {
    fn,
    caller: context.caller,
    gfn: context.gfn,
    before,
    rc: outcome.rc,
    crash: outcome.crash,
    wrote: outcome.write !== undefined,
  } satisfies P2mCall,
});
const fail = (context: PopulateContext, printk: string) => ({
  rc: context.call?.rc ?? -1,
  detail: context.call ? `${printk}; ${describeCallAt(context.call)}` : printk,
});

export const pvhPopulateP2mSetup = setup({
  types: {
    context: {} as PopulateContext,
    input: {} as PhaseInput,
    events: {} as PopulateEvent,
    emitted: {} as OperationEvent,
  },
  actions: {
    // §5.3 step 1: modify_identity_mmio(d, 0, MB1_PAGES, true).
    startBlanket: assign(() => {
      const s = startWalk(0, MB1_PAGES);
      const walk = 'next' in s ? s.next : undefined;
      return { caller: 'blanket' as const, walk, gfn: walk ? walkGfn(walk) : 0 };
    }),
    stepWalk: assign(({ context }) => advanceWalk(context)),
    readEntry: read(({ context }) => entryAddr(context.mem.p2m, context.gfn), 8, 'entry'),
    // §5.2 rows 1-3, behind map_mmio_regions (blanket) or directly (hole).
    setMmio: assign(({ context, event }) => {
      const before = decodeEntry(resultBytes(event, 'entry'));
      const out = setMmioP2mEntry(
        context.rules,
        before,
        context.gfn,
        context.gfn,
        callerCode(context.caller),
      );
      return record(context, 'set_mmio_p2m_entry', before, out);
    }),
    // §5.2 row 4.
    addRam: assign(({ context, event }) => {
      const before = decodeEntry(resultBytes(event, 'entry'));
      const out = guestPhysmapAddEntry(context.rules, before, {
        mfn: context.nextMfn,
        owner: callerCode('ram'),
      });
      return record(context, 'guest_physmap_add_entry', before, out);
    }),
    // p2m_set_entry for what the accessor allowed, or domain_crash.
    applyOutcome: enqueueActions(({ context, enqueue }) => {
      for (const w of outcomeStores(context.mem, context.gfn, context.outcome))
        enqueue(write(w.addr, w.bytes, w.tag));
    }),
    startRange: assign(({ context }) => ({ caller: 'ram' as const, gfn: range(context).start })),
    nextPage: assign(({ context }) => ({ gfn: context.gfn + 1, nextMfn: context.nextMfn + 1 })),
    nextRange: assign(({ context }) => ({ r: context.r + 1, nextMfn: context.nextMfn + 1 })),
    // §5.3 step 2: hvm_copy_to_guest_phys of [start, min(end, 1 MiB)) from host memory.
    readHost: read(
      ({ context }) => context.mem.hostLow + range(context).start,
      ({ context }) => lowEnd(range(context)) - range(context).start,
      'host',
    ),
    keepCopy: assign(({ event }) => ({ copy: resultBytes(event, 'host') })),
    writeGuest: write(
      ({ context }) => context.mem.frames + range(context).start,
      ({ context }) => context.copy,
      'hvm_copy_to_guest_phys',
    ),
    startHoles: assign(() => ({ caller: 'hole' as const, gfn: 0 })),
    keepQuery: assign(({ event }) => ({ queried: decodeEntry(resultBytes(event, 'entry')) })),
    nextGfn: assign(({ context }) => ({ gfn: context.gfn + 1 })),
    // §5.4 item 2: ASSERT(p2mt == p2m_ram_rw) for an entry already present (debug build).
    assertRam: assert(
      false,
      ({ context }) =>
        `ASSERT(p2mt == p2m_ram_rw) in pvh_populate_p2m: gfn ${hex(context.gfn)} is ${p2mTypeName(context.queried?.type ?? 0)}, established by ${callerName(context.queried?.owner ?? 0)}`,
    ),
    failBlanket: assign(({ context }) =>
      fail(context, `Failed to identity map low 1MB: ${context.call?.rc}`),
    ),
    failRam: assign(({ context }) => {
      const e = range(context);
      return fail(
        context,
        `Failed to populate memory: [${hex(e.start)}, ${hex(e.start + e.pages)}) ${context.call?.rc}`,
      );
    }),
    failHole: assign(({ context }) =>
      fail(context, `Failed to identity map PFN ${context.gfn.toString(16)}: ${context.call?.rc}`),
    ),
    replyOk: send(({ context }) => context.builder, {
      type: 'phase.done',
      phase: 'pvh_populate_p2m',
      rc: 0,
    } satisfies PhaseDoneEvent),
    replyFailed: send(
      ({ context }) => context.builder,
      ({ context }) =>
        ({
          type: 'phase.done',
          phase: 'pvh_populate_p2m',
          rc: context.rc,
          detail: context.detail,
        }) satisfies PhaseDoneEvent,
    ),
  },
  guards: {
    ramFirst: ({ context }) => context.flow === 'map-once',
    changes: ({ context }) => outcomeChanges(context.outcome),
    callFailed: ({ context }) => (context.call?.rc ?? 0) !== 0,
    walkContinues: ({ context }) => walkContinues(context),
    walkFailed: ({ context }) => walkFailed(context),
    moreRam: ({ context }) => context.r < context.ram.length,
    rangeHasMore: ({ context }) => context.gfn + 1 < range(context).start + range(context).pages,
    rangeIsLow: ({ context }) => range(context).start < MB1_PAGES,
    moreHoles: ({ context }) => context.gfn < MB1_PAGES,
    unmapped: ({ context }) => context.queried !== undefined && queryMfn(context.queried) === INVALID_MFN,
    notRam: ({ context }) => context.queried?.type !== P2M_RAM_RW,
  },
});

export const pvhPopulateP2m = pvhPopulateP2mSetup.createMachine({
  id: 'pvh-populate-p2m',
  context: ({ input }) => ({
    ...input,
    caller: 'ram',
    gfn: 0,
    walk: undefined,
    ram: input.e820.filter((e) => e.type === E820_RAM),
    r: 0,
    nextMfn: FIRST_RAM_MFN,
    queried: undefined,
    call: undefined,
    outcome: undefined,
    copy: [],
    rc: 0,
    detail: undefined,
  }),
  initial: 'idle',
  states: {
    idle: {
      tags: ['idle'],
      on: {
        run: [
          { guard: 'ramFirst', target: 'ramNext' },
          { target: 'blanket', actions: 'startBlanket' },
        ],
      },
    },
    // Old flow, step 1: the blanket identity map, one set_mmio_p2m_entry at a time.
    blanket: {
      entry: 'readEntry',
      on: { 'ops.done': { target: 'blanketDecided', actions: 'setMmio' } },
    },
    blanketDecided: { always: [{ guard: 'changes', target: 'blanketUpdate' }, { target: 'blanketNext' }] },
    blanketUpdate: { entry: 'applyOutcome', on: { 'ops.done': 'blanketNext' } },
    blanketNext: {
      always: [
        { guard: 'walkContinues', target: 'blanket', actions: 'stepWalk' },
        { guard: 'walkFailed', target: 'failed', actions: 'failBlanket' },
        { target: 'ramNext' },
      ],
    },
    // Each E820_RAM range: populate it page by page, then copy what lies below 1 MiB.
    ramNext: {
      always: [
        { guard: 'moreRam', target: 'ram', actions: 'startRange' },
        { guard: 'ramFirst', target: 'holeNext', actions: 'startHoles' },
        { target: 'replying' },
      ],
    },
    ram: {
      entry: 'readEntry',
      on: { 'ops.done': { target: 'ramDecided', actions: 'addRam' } },
    },
    ramDecided: { always: [{ guard: 'changes', target: 'ramUpdate' }, { target: 'ramAfter' }] },
    ramUpdate: { entry: 'applyOutcome', on: { 'ops.done': 'ramAfter' } },
    ramAfter: {
      always: [
        { guard: 'callFailed', target: 'failed', actions: 'failRam' },
        { guard: 'rangeHasMore', target: 'ram', actions: 'nextPage' },
        { guard: 'rangeIsLow', target: 'copyRead' },
        { target: 'ramNext', actions: 'nextRange' },
      ],
    },
    copyRead: { entry: 'readHost', on: { 'ops.done': { target: 'copyWrite', actions: 'keepCopy' } } },
    copyWrite: { entry: 'writeGuest', on: { 'ops.done': { target: 'ramNext', actions: 'nextRange' } } },
    // 6b4f6a31ac: identity-map the low-MiB GFNs RAM did not take.
    holeNext: { always: [{ guard: 'moreHoles', target: 'holeQuery' }, { target: 'replying' }] },
    holeQuery: { entry: 'readEntry', on: { 'ops.done': { target: 'holeQueried', actions: 'keepQuery' } } },
    holeQueried: {
      always: [
        { guard: 'unmapped', target: 'hole' },
        { guard: 'notRam', target: 'asserting' },
        { target: 'holeNext', actions: 'nextGfn' },
      ],
    },
    asserting: { entry: 'assertRam', on: { 'ops.done': { target: 'holeNext', actions: 'nextGfn' } } },
    // set_mmio_p2m_entry's own lookup under the gfn lock.
    hole: { entry: 'readEntry', on: { 'ops.done': { target: 'holeDecided', actions: 'setMmio' } } },
    holeDecided: { always: [{ guard: 'changes', target: 'holeUpdate' }, { target: 'holeAfter' }] },
    holeUpdate: { entry: 'applyOutcome', on: { 'ops.done': 'holeAfter' } },
    holeAfter: {
      always: [
        { guard: 'callFailed', target: 'failed', actions: 'failHole' },
        { target: 'holeNext', actions: 'nextGfn' },
      ],
    },
    replying: { entry: 'replyOk', on: { 'ops.done': 'done' } },
    failed: { entry: 'replyFailed', on: { 'ops.done': 'done' } },
    done: { type: 'final' },
  },
});
