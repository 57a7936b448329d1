import { assign, enqueueActions, setup } from 'xstate';
import { type DoneEvent, type OperationEvent, read, resultBytes, send, write } from '../src/index.ts';
import type { PhaseDoneEvent, PhaseInput, RunEvent } from './dom0-build-order.ts';
import { E820_ACPI, E820_NVS, type E820Entry, MB1_PAGES } from './e820.ts';
import {
  advanceWalk,
  type MmioWalk,
  startWalk,
  walkContinues,
  walkFailed,
  walkGfn,
} from './modify-identity-mmio.ts';
import {
  callerCode,
  decodeEntry,
  describeCallAt,
  entryAddr,
  outcomeChanges,
  outcomeStores,
  type P2mCall,
  type P2mOutcome,
  setMmioP2mEntry,
} from './p2m.ts';

/**
 * `pvh_setup_acpi`'s identity mapping of the E820 ACPI and NVS regions
 * (XEN:xen/arch/x86/hvm/dom0_build.c), with `modify_identity_mmio`.
 *
 * Old flow (domain-facts §5.3): every ACPI and NVS range, wherever it is. 6b4f6a31ac (§5.4
 * item 3): ranges below 1 MiB are skipped ("dealt with by pvh_populate_p2m()"), and a
 * range straddling 1 MiB is clipped to start at PFN 256. The guard `skipsLowMiB` says
 * which. Building the XSDT and RSDP afterwards touches no low-MiB entry and is not modelled.
 */
export interface AcpiRange {
  readonly pfn: number;
  readonly nr: number;
}

export interface AcpiContext extends PhaseInput {
  readonly ranges: readonly AcpiRange[];
  readonly r: number;
  readonly walk: MmioWalk | undefined;
  readonly gfn: number;
  readonly call: P2mCall | undefined;
  readonly outcome: P2mOutcome | undefined;
  readonly rc: number;
  readonly detail: string | undefined;
}

type AcpiEvent = RunEvent | DoneEvent;

const acpiEntries = (context: AcpiContext) =>
  context.e820.filter((e) => e.type === E820_ACPI || e.type === E820_NVS);
const whole = (e: E820Entry): AcpiRange => ({ pfn: e.start, nr: e.pages });

/** §5.4 item 3: skip what lies below 1 MiB; clip a range that straddles it. */
export function clipBelow1MiB(r: AcpiRange): AcpiRange | undefined {
  if (r.pfn >= MB1_PAGES) return r;
  if (r.pfn + r.nr <= MB1_PAGES) return undefined;
  return { pfn: MB1_PAGES, nr: r.nr - (MB1_PAGES - r.pfn) };
}

const hex = (n: number) => `0x${n.toString(16)}`;
const cur = (context: AcpiContext) => context.ranges[context.r];
const begin = (context: AcpiContext, r: number) => {
  const range = context.ranges[r];
  const s = range ? startWalk(range.pfn, range.nr) : undefined;
  const walk = s && 'next' in s ? s.next : undefined;
  return { r, walk, gfn: walk ? walkGfn(walk) : context.gfn };
};

export const pvhSetupAcpiSetup = setup({
  types: {
    context: {} as AcpiContext,
    input: {} as PhaseInput,
    events: {} as AcpiEvent,
    emitted: {} as OperationEvent,
  },
  actions: {
    planClipped: assign(({ context }) => {
      const ranges = acpiEntries(context)
        .map(whole)
        .map(clipBelow1MiB)
        .filter((r): r is AcpiRange => r !== undefined);
      return { ranges, ...begin({ ...context, ranges }, 0) };
    }),
    planAll: assign(({ context }) => {
      const ranges = acpiEntries(context).map(whole);
      return { ranges, ...begin({ ...context, ranges }, 0) };
    }),
    readEntry: read(({ context }) => entryAddr(context.mem.p2m, context.gfn), 8, 'entry'),
    // §5.2 rows 1-3.
    setMmio: assign(({ context, event }) => {
      const before = decodeEntry(resultBytes(event, 'entry'));
      const outcome = setMmioP2mEntry(context.rules, before, context.gfn, context.gfn, callerCode('acpi'));
      const call: P2mCall = {
        fn: 'set_mmio_p2m_entry',
        caller: 'acpi',
        gfn: context.gfn,
        before,
        rc: outcome.rc,
        crash: outcome.crash,
        wrote: outcome.write !== undefined,
      };
      return { call, outcome };
    }),
    applyOutcome: enqueueActions(({ context, enqueue }) => {
      for (const w of outcomeStores(context.mem, context.gfn, context.outcome))
        enqueue(write(w.addr, w.bytes, w.tag));
    }),
    stepWalk: assign(({ context }) => advanceWalk(context)),
    nextRange: assign(({ context }) => begin(context, context.r + 1)),
    fail: assign(({ context }) => {
      const r = cur(context);
      const printk = `Failed to map ACPI region [${hex(r.pfn)}, ${hex(r.pfn + r.nr)}) into Dom0 memory map`;
      return {
        rc: context.call?.rc ?? -1,
        detail: context.call ? `${printk}; ${describeCallAt(context.call)}` : printk,
      };
    }),
    replyOk: send(({ context }) => context.builder, {
      type: 'phase.done',
      phase: 'pvh_setup_acpi',
      rc: 0,
    } satisfies PhaseDoneEvent),
    replyFailed: send(
      ({ context }) => context.builder,
      ({ context }) =>
        ({
          type: 'phase.done',
          phase: 'pvh_setup_acpi',
          rc: context.rc,
          detail: context.detail,
        }) satisfies PhaseDoneEvent,
    ),
  },
  guards: {
    skipsLowMiB: ({ context }) => context.flow === 'map-once',
    inRange: ({ context }) => context.walk !== undefined && context.r < context.ranges.length,
    moreRanges: ({ context }) => context.r < context.ranges.length,
    changes: ({ context }) => outcomeChanges(context.outcome),
    walkContinues: ({ context }) => walkContinues(context),
    walkFailed: ({ context }) => walkFailed(context),
  },
});

export const pvhSetupAcpi = pvhSetupAcpiSetup.createMachine({
  id: 'pvh-setup-acpi',
  context: ({ input }) => ({
    ...input,
    ranges: [],
    r: 0,
    walk: undefined,
    gfn: 0,
    call: undefined,
    outcome: undefined,
    rc: 0,
    detail: undefined,
  }),
  initial: 'idle',
  states: {
    idle: {
      tags: ['idle'],
      on: {
        run: [
          { guard: 'skipsLowMiB', target: 'next', actions: 'planClipped' },
          { target: 'next', actions: 'planAll' },
        ],
      },
    },
    next: { always: [{ guard: 'inRange', target: 'lookup' }, { target: 'replying' }] },
    lookup: { entry: 'readEntry', on: { 'ops.done': { target: 'decided', actions: 'setMmio' } } },
    decided: { always: [{ guard: 'changes', target: 'update' }, { target: 'after' }] },
    update: { entry: 'applyOutcome', on: { 'ops.done': 'after' } },
    after: {
      always: [
        { guard: 'walkContinues', target: 'lookup', actions: 'stepWalk' },
        { guard: 'walkFailed', target: 'failed', actions: 'fail' },
        { target: 'next', actions: 'nextRange' },
      ],
    },
    replying: { entry: 'replyOk', on: { 'ops.done': 'done' } },
    failed: { entry: 'replyFailed', on: { 'ops.done': 'done' } },
    done: { type: 'final' },
  },
});
