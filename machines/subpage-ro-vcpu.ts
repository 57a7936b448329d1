import { and, assign, enqueueActions, not, setup } from 'xstate';
import {
  acquire,
  assert,
  choose,
  type DoneEvent,
  leToNumber,
  type OperationEvent,
  read,
  release,
  result,
  resultBytes,
  toLe,
  write,
} from '../src/index.ts';
import {
  cr2Of,
  type GuestKind,
  type GuestStore,
  handlerAccepts,
  hookAccepts,
  mfnOffset,
  type Route,
  STORE_WIDTHS,
  type StoreOutcome,
} from './subpage-ro-fault-path.ts';
import { ENTRY_MAPPED, ENTRY_RO_ELEMS, PAGE, roBitInWord, roWordOffset } from './subpage-ro-registration.ts';

/**
 * One guest vCPU storing to sub-page read-only MMIO, and Xen's write-fault path on that
 * vCPU (domain-facts §3.3-3.5). For each store: the guest's store faults (the page is in
 * mmio_ro_ranges, so mapped read-only); Xen reads the entry's ro_elems word; the path
 * (`route`) either crashes the domain or emulates; the emulation checks the access, drops
 * and logs a store into a read-only qword, maps the page lazily (`subpage_mmio_map_page`,
 * §3.4) and performs one device store through the mapping.
 *
 * The mapping is real memory: `entry.mapped` is a word in host memory (read unlocked with
 * an `atomic` load, published with an `atomic` store under `subpage_ro_lock`), and each
 * ioremap writes a PTE (mfn<<12 | present | rw) into the ioremap area, each iounmap clears
 * it. The device store goes wherever the PTE of the mapping in use points. With
 * `ioremapMayFail` each ioremap may return NULL (a `choose`): the final version then
 * publishes NULL if nobody beat it, and the write is dropped with "Failed to map page for
 * MMIO write" (§3.4 step 4).
 *
 * Named implementations the variants swap:
 * - `route` (action): the current path (PV hook; HVM MMIO handler of 8f36bde2b2), the
 *   original 8847d6e23f HVM path (`route8847d6e23f`), or the whole-page behaviour before
 *   it (`routeWholePage`);
 * - `tooWide` (guard): 8dbd9966f8's size gate; `() => false` before it;
 * - `ioremapUnderLock` (guard) and `lockAndRecheck` (action): the final
 *   map-then-recheck, v2's map under the lock, or a publish with no re-check
 *   (`lockWithoutRecheck`);
 * - `deviceStore` (action): at mapping + offset, or at the page base (`storeAtPageBase`,
 *   before 38d0780979).
 */
export interface VcpuInput {
  readonly id: number;
  readonly guest: GuestKind;
  readonly build: 'debug' | 'release';
  /** Guest address of window page 0 (gla = gpa: identity-mapped). */
  readonly glaBase: number;
  /** The mfn behind each window page. */
  readonly mfns: readonly number[];
  /** subpage_ro_ranges: read-only after init (§3.1), so its shape is known up front. */
  readonly entries: readonly { readonly mfn: number; readonly addr: number }[];
  /** The ioremap area: VA of slot 0 and the address of its PTE; slot = vcpu * pages + page. */
  readonly vmapVa: number;
  readonly vmapPtes: number;
  readonly pages: number;
  readonly stores: readonly GuestStore[];
  /** ioremap may fail (§3.4 step 4): a `choose` at each call. */
  readonly ioremapMayFail: boolean;
  /** The fault carries the linear address (cr2 for PV, the EPT exit's gla on Intel; not on AMD, §3.3). */
  readonly glaValid: boolean;
}

export type VcpuPhase = 'waiting' | 'faulting' | 'emulating' | 'mapping' | 'storing' | 'done';

export interface StoreRecord {
  readonly store: GuestStore;
  readonly mfn: number;
  readonly roQword: boolean;
  /** The write-fault path that handled it (none if the store did not fault). */
  readonly route: Route | 'guest-pf' | undefined;
  readonly outcome: StoreOutcome;
  /** What Xen logged for it, if anything. */
  readonly log?: string;
}

export interface VcpuContext extends VcpuInput {
  readonly k: number;
  readonly phase: VcpuPhase;
  /** The ro_elems word holding the store's bit, as read. */
  readonly roWord: readonly number[];
  readonly route: Route | 'guest-pf' | undefined;
  /** The mapping in use (entry.mapped as this CPU got it), and the one this CPU ioremapped. */
  readonly mapped: number;
  readonly ours: number;
  /** Where the mapping in use points (the PTE's mfn<<12). */
  readonly devBase: number;
  readonly records: readonly StoreRecord[];
}

type VcpuEvent = DoneEvent | { readonly type: 'start' };

export const PTE_PRESENT_RW = 0x3;

const cur = (c: VcpuContext) => c.stores[c.k];
const mfnOf = (c: VcpuContext) => c.mfns[cur(c).page];
const entryOf = (c: VcpuContext) => c.entries.find((e) => e.mfn === mfnOf(c));
const roBit = (c: VcpuContext) => !!entryOf(c) && roBitInWord(c.roWord, cur(c).offset);
const slotOf = (c: VcpuContext) => c.id * c.pages + cur(c).page;
/** The VA this CPU's ioremap of the store's page returns. */
const ourVa = (c: VcpuContext) => c.vmapVa + slotOf(c) * PAGE;
/** The PTE behind a VA of the ioremap area. */
const pteOf = (c: VcpuInput, va: number) => c.vmapPtes + ((va - c.vmapVa) / PAGE) * 8;
const mappedAddr = (c: VcpuContext) => entryOf(c)!.addr + ENTRY_MAPPED;
const where = (c: VcpuContext) => mfnOffset(mfnOf(c), cur(c).offset);

/** The store is over: record how, and move to the next. */
function finished(c: VcpuContext, outcome: StoreOutcome, log?: string) {
  const rec: StoreRecord = {
    store: cur(c),
    mfn: mfnOf(c),
    roQword: roBit(c),
    route: c.route,
    outcome,
    ...(log ? { log } : {}),
  };
  return {
    k: c.k + 1,
    phase: 'faulting' as const,
    records: [...c.records, rec],
    mapped: 0,
    ours: 0,
    devBase: 0,
  };
}

const hwdom = (c: VcpuContext) => c.guest === 'pvh-dom0';

export const subpageRoVcpuSetup = setup({
  types: {
    context: {} as VcpuContext,
    input: {} as VcpuInput,
    events: {} as VcpuEvent,
    emitted: {} as OperationEvent,
  },
  actions: {
    // The guest's store: the page is mapped read-only, so it faults (#PF for PV, an
    // EPT/NPT write violation on p2m_mmio_direct for HVM).
    guestStore: enqueueActions(({ context, enqueue }) => {
      const s = cur(context);
      enqueue.assign({ phase: 'faulting', roWord: [], route: undefined });
      enqueue(write(context.glaBase + s.page * PAGE + s.offset, s.data, 'guest store'));
    }),
    // test_bit(offset / 8, ro_elems): the unsigned long holding the bit.
    readRoWord: enqueueActions(({ context, enqueue }) => {
      const e = entryOf(context);
      if (e) enqueue(read(e.addr + ENTRY_RO_ELEMS + roWordOffset(cur(context).offset), 8, 'ro_elems'));
    }),
    keepRoWord: assign(({ event }) => ({ roWord: resultBytes(event, 'ro_elems') })),
    // XEN@HEAD: PV #PF → the hook (§3.3 PV step 1); HVM → handle_mmio_with_translation and
    // the sub-page MMIO handler (§3.3 "HVM, current").
    route: assign(({ context }) => ({
      phase: 'emulating' as const,
      route: context.guest === 'pv' ? ('hook' as const) : ('handler' as const),
    })),
    noteCrash: assign(({ context }) => finished(context, 'domain_crash', 'domain_crash()')),
    noteEmulationCrash: assign(({ context }) => {
      const s = cur(context);
      const gla = context.glaValid
        ? `gla ${(context.glaBase + s.page * PAGE + cr2Of(s)).toString(16)}`
        : 'no gla';
      return finished(context, 'domain_crash', `hvm_emulate_one_mmio: bad access (${gla}); domain_crash()`);
    }),
    noteGuestPf: assign(({ context }) =>
      finished(context, 'bad access', `#PF on R/O MMIO ${where(context)} injected into the guest`),
    ),
    noteBadAccess: assign(({ context }) => {
      const s = cur(context);
      const cr2 = context.glaBase + s.page * PAGE + cr2Of(s);
      const addr = context.glaBase + s.page * PAGE + s.offset;
      return finished(
        context,
        'bad access',
        `bad access (cr2=${cr2.toString(16)}, addr=${addr.toString(16)}, bytes=${s.len})`,
      );
    }),
    noteHandlerIgnored: assign(({ context }) =>
      finished(
        context,
        'ignored',
        `ignoring ${cur(context).len}-byte unaligned or oversized write to ${where(context)}`,
      ),
    ),
    // §3.5 8dbd9966f8: bytes > 8 is not performed, and logged.
    noteUnsupported: assign(({ context }) =>
      finished(
        context,
        'unsupported',
        `unsupported ${cur(context).len}-byte write to R/O MMIO ${where(context)}`,
      ),
    ),
    noteNoEntry: assign(({ context }) => finished(context, 'no entry')),
    // §3.3 PV step 3: the qword is read-only: drop the write and log at warning level.
    noteDropped: assign(({ context }) =>
      finished(context, 'dropped', `ignoring write to R/O MMIO ${where(context)} len ${cur(context).len}`),
    ),
    noteStored: assign(({ context }) => finished(context, 'stored')),
    noteMapFailed: assign(({ context }) =>
      finished(context, 'map failed', `Failed to map page for MMIO write at ${where(context)}`),
    ),
    chooseIoremap: enqueueActions(({ enqueue }) => {
      enqueue(choose('ioremap', ['mapped', 'NULL']));
    }),
    // §3.4 step 1: if entry->mapped is set (unlocked read), use it.
    readMappedUnlocked: enqueueActions(({ context, enqueue }) => {
      enqueue.assign({ phase: 'mapping' });
      enqueue(read(mappedAddr(context), 8, 'mapped', 'atomic'));
    }),
    useMapped: assign(({ event }) => ({ mapped: leToNumber(resultBytes(event, 'mapped')) })),
    // §3.4 step 2: ioremap the page without holding the lock.
    ioremap: enqueueActions(({ context, enqueue }) => {
      const va = ourVa(context);
      enqueue.assign({ ours: va });
      enqueue(write(pteOf(context, va), toLe(mfnOf(context) * PAGE + PTE_PRESENT_RW, 8), 'ioremap'));
    }),
    // §3.4 step 3: take subpage_ro_lock and re-check.
    lockAndRecheck: enqueueActions(({ context, enqueue }) => {
      enqueue(acquire('subpage_ro_lock'));
      enqueue(read(mappedAddr(context), 8, 'mapped'));
    }),
    // Another CPU published first: unlock, iounmap our own, use theirs.
    unlockAndDiscard: enqueueActions(({ context, enqueue, event }) => {
      enqueue.assign({ mapped: leToNumber(resultBytes(event, 'mapped')), ours: 0 });
      enqueue(release('subpage_ro_lock'));
      if (context.ours) enqueue(write(pteOf(context, context.ours), toLe(0, 8), 'iounmap'));
    }),
    // Nobody has: publish ours and unlock.
    publish: enqueueActions(({ context, enqueue }) => {
      enqueue.assign({ mapped: context.ours });
      enqueue(write(mappedAddr(context), toLe(context.ours, 8), 'entry.mapped', 'atomic'));
      enqueue(release('subpage_ro_lock'));
    }),
    // v2 (§3.4): ioremap under the spinlock, then publish.
    ioremapAndPublish: enqueueActions(({ context, enqueue }) => {
      const va = ourVa(context);
      enqueue.assign({ ours: va, mapped: va });
      enqueue(write(pteOf(context, va), toLe(mfnOf(context) * PAGE + PTE_PRESENT_RW, 8), 'ioremap'));
      enqueue(write(mappedAddr(context), toLe(va, 8), 'entry.mapped', 'atomic'));
      enqueue(release('subpage_ro_lock'));
    }),
    // The MMU walk of the store through the mapping.
    readPte: enqueueActions(({ context, enqueue }) => {
      enqueue(read(pteOf(context, context.mapped), 8, 'pte'));
    }),
    keepDevBase: assign(({ event }) => ({
      devBase: Math.floor(leToNumber(resultBytes(event, 'pte')) / PAGE) * PAGE,
    })),
    xenPageFault: enqueueActions(({ context, enqueue }) => {
      enqueue(
        assert(
          false,
          `Xen #PF: store to ${where(context)} through VA 0x${context.mapped.toString(16)}, which is not mapped`,
        ),
      );
    }),
    // §3.5: the size switch's default: ASSERT_UNREACHABLE(), then `goto write_ignored`.
    switchDefault: enqueueActions(({ context, enqueue }) => {
      if (context.build === 'debug')
        enqueue(
          assert(
            false,
            `ASSERT_UNREACHABLE() in subpage_mmio_write_emulate: ${cur(context).len}-byte write to ${where(context)} ("mmio_ro_emulated_write() already validated the size")`,
          ),
        );
    }),
    // §3.3 PV step 3: one device store of width len at mapping + offset.
    deviceStore: enqueueActions(({ context, enqueue }) => {
      const s = cur(context);
      enqueue.assign({ phase: 'storing' });
      enqueue(write(context.devBase + s.offset, s.data, 'device store'));
    }),
  },
  guards: {
    // The guest store went through: the page was not read-only after all.
    storeLanded: ({ event }) => {
      const r = (event as DoneEvent).results['guest store'] as { ok: boolean } | undefined;
      return r?.ok === true;
    },
    hasEntry: ({ context }) => !!entryOf(context),
    morePending: ({ context }) => context.k < context.stores.length,
    routeCrash: ({ context }) => context.route === 'crash',
    routeGuestPf: ({ context }) => context.route === 'guest-pf',
    routeHook: ({ context }) => context.route === 'hook',
    // The hook compares with cr2: an HVM exit without a linear address (AMD) never matches.
    hookRejects: ({ context }) => !context.glaValid || !hookAccepts(cur(context)),
    hvm: ({ context }) => context.guest !== 'pv',
    handlerRejects: ({ context }) => !handlerAccepts(cur(context)),
    // 8dbd9966f8 (§3.5): the hook performs only bytes <= 8.
    tooWide: ({ context }) => cur(context).len > 8,
    roQword: ({ context }) => roBit(context),
    // (A lock taken with no re-check reads nothing: null as far as it knows.)
    mappedNonNull: ({ event }) =>
      'mapped' in (event as DoneEvent).results && leToNumber(resultBytes(event, 'mapped')) !== 0,
    // v2 (§3.4): ioremap under the lock; the final version maps first.
    ioremapUnderLock: () => false,
    haveOurs: ({ context }) => context.ours !== 0,
    mappedNull: ({ context }) => context.mapped === 0,
    ioremapMayFail: ({ context }) => context.ioremapMayFail,
    ioremapFailed: ({ event }) => result<string>(event, 'ioremap') === 'NULL',
    ptePresent: ({ event }) => leToNumber(resultBytes(event, 'pte')) % 2 === 1,
    unsupportedWidth: ({ context }) => !STORE_WIDTHS.includes(cur(context).len),
    debugBuild: ({ context }) => context.build === 'debug',
  },
});

/** §3.3 "HVM, original (8847d6e23f)": a domU write is emulated only if its qword is not read-only. */
export const route8847d6e23f = subpageRoVcpuSetup.assign(({ context }) => {
  if (context.guest === 'pv' || hwdom(context))
    return { phase: 'emulating' as const, route: 'hook' as const };
  // subpage_mmio_write_accept(mfn, gla): an entry, and the qword at gla & 0xfff not read-only.
  const accept = !!entryOf(context) && !roBit(context);
  return { phase: 'emulating' as const, route: accept ? ('hook' as const) : ('crash' as const) };
});

/**
 * Before 8847d6e23f (seed 002: "when a guest tries to write to an MMIO page on the
 * mmio_ro_ranges, it's either immediately crashed on EPT violation - if that's HVM, or if
 * PV, it gets #PF"): the whole page is read-only.
 */
export const routeWholePage = subpageRoVcpuSetup.assign(({ context }) => ({
  phase: 'emulating' as const,
  route: context.guest === 'pv' ? ('guest-pf' as const) : ('crash' as const),
}));

/** A publish with no re-check under the lock: both racing CPUs publish their own mapping. */
export const lockWithoutRecheck = subpageRoVcpuSetup.enqueueActions(({ enqueue }) => {
  enqueue(acquire('subpage_ro_lock'));
});

/** Before 38d0780979 (§3.5): `writeb(data, addr)` with addr the mapping itself, not addr + offset. */
export const storeAtPageBase = subpageRoVcpuSetup.enqueueActions(({ context, enqueue }) => {
  enqueue.assign({ phase: 'storing' });
  enqueue(write(context.devBase, cur(context).data, 'device store'));
});

export const subpageRoVcpu = subpageRoVcpuSetup.createMachine({
  id: 'subpage-ro-vcpu',
  context: ({ input }) => ({
    ...input,
    k: 0,
    phase: 'waiting',
    roWord: [],
    route: undefined,
    mapped: 0,
    ours: 0,
    devBase: 0,
    records: [],
  }),
  initial: 'waiting',
  states: {
    // Until the domain exists (all registrations happen before, §3.6 S5).
    waiting: { tags: ['idle'], on: { start: 'next' } },
    next: {
      always: [{ guard: 'morePending', target: 'faulting' }, { target: 'done' }],
    },
    faulting: {
      entry: 'guestStore',
      on: {
        'ops.done': [
          { guard: 'storeLanded', target: 'next', actions: 'noteStored' },
          { guard: 'hasEntry', target: 'lookup' },
          { target: 'routing' },
        ],
      },
    },
    lookup: { entry: 'readRoWord', on: { 'ops.done': { target: 'routing', actions: 'keepRoWord' } } },
    routing: {
      entry: 'route',
      always: [
        { guard: 'routeCrash', target: 'crashed', actions: 'noteCrash' },
        { guard: 'routeGuestPf', target: 'next', actions: 'noteGuestPf' },
        { guard: 'routeHook', target: 'hook' },
        { target: 'handler' },
      ],
    },
    // mmio_ro_emulated_write (§3.3 PV step 2, §3.5).
    hook: {
      always: [
        // HVM (8847d6e23f): hvm_emulate_one_mmio() is not X86EMUL_OKAY, so the fault falls
        // through to domain_crash().
        { guard: and(['hookRejects', 'hvm']), target: 'crashed', actions: 'noteEmulationCrash' },
        { guard: 'hookRejects', target: 'next', actions: 'noteBadAccess' },
        { guard: 'tooWide', target: 'next', actions: 'noteUnsupported' },
        { target: 'writeEmulate' },
      ],
    },
    // The HVM sub-page MMIO handler of 8f36bde2b2 (§3.3 "HVM, current").
    handler: {
      always: [
        { guard: 'handlerRejects', target: 'next', actions: 'noteHandlerIgnored' },
        { target: 'writeEmulate' },
      ],
    },
    // subpage_mmio_write_emulate (§3.3 PV step 3).
    writeEmulate: {
      always: [
        { guard: 'hasEntry', target: 'checkRo' },
        // No entry: return silently.
        { target: 'next', actions: 'noteNoEntry' },
      ],
    },
    checkRo: {
      always: [{ guard: 'roQword', target: 'next', actions: 'noteDropped' }, { target: 'mapCheck' }],
    },
    // subpage_mmio_map_page (§3.4).
    mapCheck: {
      entry: 'readMappedUnlocked',
      on: {
        'ops.done': [
          { guard: 'mappedNonNull', target: 'gotMapping', actions: 'useMapped' },
          { guard: 'ioremapUnderLock', target: 'lockRecheck' },
          { guard: 'ioremapMayFail', target: 'ioremapOutcome' },
          { target: 'ioremapping' },
        ],
      },
    },
    // §3.4 step 4: whether ioremap fails (only with ioremapMayFail).
    ioremapOutcome: {
      entry: 'chooseIoremap',
      on: {
        'ops.done': [{ guard: 'ioremapFailed', target: 'lockRecheck' }, { target: 'ioremapping' }],
      },
    },
    ioremapping: { entry: 'ioremap', on: { 'ops.done': 'lockRecheck' } },
    lockRecheck: {
      entry: 'lockAndRecheck',
      on: {
        'ops.done': [
          { guard: 'mappedNonNull', target: 'discarding' },
          { guard: 'haveOurs', target: 'publishing' },
          { guard: and(['ioremapUnderLock', 'ioremapMayFail']), target: 'ioremapOutcomeLocked' },
          { guard: 'ioremapUnderLock', target: 'mappingUnderLock' },
          // Our ioremap failed and nobody published: publish NULL (§3.4 step 4).
          { target: 'publishing' },
        ],
      },
    },
    ioremapOutcomeLocked: {
      entry: 'chooseIoremap',
      on: {
        'ops.done': [{ guard: 'ioremapFailed', target: 'publishing' }, { target: 'mappingUnderLock' }],
      },
    },
    discarding: { entry: 'unlockAndDiscard', on: { 'ops.done': 'gotMapping' } },
    publishing: { entry: 'publish', on: { 'ops.done': 'gotMapping' } },
    mappingUnderLock: { entry: 'ioremapAndPublish', on: { 'ops.done': 'gotMapping' } },
    // A NULL mapping: "Failed to map page for MMIO write", the write is dropped.
    gotMapping: {
      always: [{ guard: 'mappedNull', target: 'next', actions: 'noteMapFailed' }, { target: 'translate' }],
    },
    translate: {
      entry: 'readPte',
      on: {
        'ops.done': [
          { guard: 'ptePresent', target: 'sizeSwitch', actions: 'keepDevBase' },
          { target: 'xenFault' },
        ],
      },
    },
    xenFault: { entry: 'xenPageFault', on: { 'ops.done': 'crashed' } },
    sizeSwitch: {
      always: [{ guard: 'unsupportedWidth', target: 'switchDefault' }, { target: 'storing' }],
    },
    switchDefault: {
      entry: 'switchDefault',
      // A release build: `goto write_ignored`.
      always: { guard: not('debugBuild'), target: 'next', actions: 'noteDropped' },
      on: { 'ops.done': { target: 'next', actions: 'noteDropped' } },
    },
    storing: { entry: 'deviceStore', on: { 'ops.done': { target: 'next', actions: 'noteStored' } } },
    crashed: { type: 'final' },
    done: { type: 'final', entry: assign({ phase: 'done' as const }) },
  },
});
