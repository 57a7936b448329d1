import { encodeGpc, GPC_VALID_OFS, type GpcRef } from '../machines/gpc.ts';
import { invalidateNestedGpc2First, mmuNotifier } from '../machines/mmu-notifier.ts';
import {
  areaSize,
  decodeRunstate,
  encodeRunstate,
  flagOfs,
  type Layout,
  PAGE,
  RUNSTATE_NAMES,
  RUNSTATE_OFFLINE,
  RUNSTATE_RUNNABLE,
  RUNSTATE_RUNNING,
  type Runstate,
  splitLengths,
  timesAddUp,
} from '../machines/runstate-layout.ts';
import { type ReaderContext, runstateReader } from '../machines/runstate-reader.ts';
import {
  type RunstateUpdate,
  runstateWriter,
  singleGpcLengths,
  type WriterContext,
  wholeFieldFlagWrite,
} from '../machines/runstate-writer.ts';
import { defineScenario, type WorldView } from '../src/index.ts';

/**
 * Seed 004: the KVM Xen runstate area, kvm_xen_update_runstate_guest as fixed by
 * 5ec3289b31ab and its follow-ups (domain-facts §2).
 *
 * The guest region is 3 pages at REGION, like xen_shinfo_test's SHINFO_REGION_GPA; the
 * area sits at REGION + `offset`. The default offset, 2*4096 - 15, is the selftest's
 * RUNSTATE_ADDR: in the 64-bit layout the flag byte (offset 15) is the first byte of the
 * second page (§2.6). The two GPCs live in a host-memory page. Actors:
 * - `vcpu`: the runstate writer, two updates: running → runnable from the preempt
 *   notifier (atomic: trylock, skip on contention), then back to running (may sleep:
 *   refresh or activate and retry);
 * - `guest`: the Linux reader on another vCPU, taking a steal-time snapshot (§2.5);
 * - `mmu`: an MMU-notifier invalidation of the caches (§2.3 "GPC semantics").
 *
 * Sweep the offset as xen_shinfo_test does, e.g. in the shell:
 *   for o in $(seq 8132 8195); do vcpusim check runstate:fixed --param offset=$o; done
 */
const REGION = 0x10000;
const HOST = 0x20000;
const GPC1: GpcRef = { lock: 'gpc1', addr: HOST };
const GPC2: GpcRef = { lock: 'gpc2', addr: HOST + 0x40 };

/** Registration (§2.3): the vCPU is running since T0; the next update crosses 2^32 ns, so
 * state_entry_time changes in both halves. */
const T0 = 0xffff_fff0;
const INITIAL: Runstate = { state: RUNSTATE_RUNNING, entryTime: T0, times: [T0 - 0x30, 0, 0, 0x30] };
const UPDATES: readonly RunstateUpdate[] = [
  { state: RUNSTATE_RUNNABLE, now: 0x1_0000_0010, atomic: true },
  { state: RUNSTATE_RUNNING, now: 0x1_0000_0100, atomic: false },
];

const layoutOf = (p: { readonly layout: string }) => p.layout as Layout;
const gpaOf = (p: { readonly offset: number }) => REGION + p.offset;

function hex(n: number): string {
  return '0x' + n.toString(16);
}

/** The area's bytes the writer wrote last (`lastStep`), if the step was its write into the region. */
function writerWrite(view: WorldView): { addr: number; width: number } | undefined {
  const s = view.lastStep;
  const a = s?.access;
  if (s?.actor !== 'vcpu' || !a || a.kind !== 'write') return undefined;
  if (a.addr + a.width <= REGION || a.addr >= REGION + 3 * PAGE) return undefined;
  return { addr: a.addr, width: a.width };
}

function describe(rs: Runstate): string {
  const sum = rs.times.reduce((a, b) => a + b, 0);
  return `state ${RUNSTATE_NAMES[rs.state] ?? rs.state}, state_entry_time ${hex(rs.entryTime)}, Σ time[] ${hex(sum)}`;
}

export default defineScenario({
  name: 'runstate',
  seed: '004',
  description:
    'KVM Xen runstate area: the writer with two GPCs (gpc1 then gpc2), the update flag as single-byte stores, the Linux reader and an MMU-notifier invalidation (5ec3289b31ab)',
  params: {
    layout: {
      default: '64',
      values: ['64', 'compat'],
      description: 'vcpu_runstate_info layout: 64 (48 bytes) or compat (44, packed)',
    },
    offset: {
      default: 2 * PAGE - 15,
      description:
        'where the area starts in the 3-page region; the default puts the 64-bit flag byte first on page 2',
    },
    flag: { default: true, description: 'RUNSTATE_UPDATE_FLAG enabled by the VMM' },
    reader: { default: true, description: 'a guest vCPU reads the area (steal time) meanwhile' },
    invalidate: {
      default: 'none',
      values: ['none', 'gpc1', 'gpc2', 'both'],
      description: 'which caches the MMU notifier invalidates meanwhile',
    },
    attempts: { default: 1, description: 'snapshot attempts before the reader gives up' },
    updates: {
      default: 1,
      values: [1, 2],
      description:
        'runstate changes the writer makes: 1 (to runnable, atomic) or 2 (then back to running, may sleep)',
    },
  },
  memory: (p) => {
    const layout = layoutOf(p);
    const size = areaSize(layout);
    if (!Number.isInteger(p.offset) || p.offset < 0 || p.offset + size > 3 * PAGE) {
      throw new Error(
        `offset ${p.offset}: the ${size}-byte area must fit in the 3-page region (0..${3 * PAGE - size})`,
      );
    }
    const gpa = gpaOf(p);
    const { len1, len2 } = splitLengths(gpa, size);
    const area = encodeRunstate(layout, INITIAL);
    const gpcs = [
      ...encodeGpc({ active: true, valid: true, gpa }),
      ...new Array(0x38).fill(0),
      // gpc2 is active only when the area reaches the second page (§2.3 "Registration").
      ...encodeGpc({ active: len2 > 0, valid: len2 > 0, gpa: gpa + len1 }),
    ];
    return [
      // 0xa5 around the area, as the selftest's sweep fills it ("Structure overrun").
      {
        name: 'guest runstate region',
        base: REGION,
        pages: 3,
        type: 'ram',
        init: (o) => area[o - p.offset] ?? 0xa5,
      },
      { name: 'kvm host memory (GPCs)', base: HOST, pages: 1, type: 'ram', init: gpcs },
    ];
  },
  locks: () => ({ gpc1: 'rwlock', gpc2: 'rwlock' }),
  seqlocks: (p) =>
    p.flag
      ? [
          {
            name: 'runstate',
            flag: { addr: gpaOf(p) + flagOfs(layoutOf(p)), mask: 0x80 },
            data: { addr: gpaOf(p), len: areaSize(layoutOf(p)) },
          },
        ]
      : [],
  actors: (p) => {
    const layout = layoutOf(p);
    const gpa = gpaOf(p);
    const gpcs = { none: [], gpc1: [GPC1], gpc2: [GPC2], both: [GPC1, GPC2] }[p.invalidate] ?? [];
    return {
      vcpu: {
        machine: runstateWriter,
        input: {
          layout,
          gpa,
          flag: p.flag,
          gpc1: GPC1,
          gpc2: GPC2,
          initial: INITIAL,
          updates: UPDATES.slice(0, p.updates),
        },
      },
      ...(p.reader
        ? { guest: { machine: runstateReader, input: { layout, gpa, attempts: p.attempts } } }
        : {}),
      ...(gpcs.length > 0 ? { mmu: { machine: mmuNotifier, input: { gpcs } } } : {}),
    };
  },
  invariants: {
    // R5 and R3 on what the guest took: a snapshot is accepted only when consistent.
    R5: {
      kind: 'local',
      check(view) {
        if (!view.actorNames.includes('guest')) return;
        for (const s of view.context<ReaderContext>('guest').accepted) {
          // The copy's own flag bit is not used (the reader judged t1 and t2, not the copy).
          if (!timesAddUp(s) || s.state > RUNSTATE_OFFLINE)
            return `the guest accepted a torn snapshot: ${describe(s)}`;
        }
      },
    },
    // The selftest's check, on memory: with the flag clear, state_entry_time == Σ time[].
    // Only the writer writes the area, so this is judged after its writes (kind `local`).
    'times-add-up': {
      kind: 'local',
      check(view, p) {
        if (!writerWrite(view)) return;
        const layout = layoutOf(p);
        const rs = decodeRunstate(layout, view.peek(gpaOf(p), areaSize(layout)));
        if (!rs.flag && !timesAddUp(rs))
          return `the area shows ${describe(rs)} with the update flag clear ("runstate times don't add up")`;
      },
    },
    // R3: no byte outside [gpa, gpa+len) is written ("Structure overrun").
    R3: {
      kind: 'local',
      check(view, p) {
        const w = writerWrite(view);
        if (!w) return;
        const gpa = gpaOf(p);
        const end = gpa + areaSize(layoutOf(p));
        if (w.addr < gpa || w.addr + w.width > end)
          return `vcpu wrote ${hex(w.addr)}/${w.width}, outside the area ${hex(gpa)}..${hex(end - 1)}`;
      },
    },
    // R4: atomic context never blocks, refreshes or activates; guest memory is written only
    // in the write phase, with the caches locked.
    R4: {
      kind: 'local',
      check(view) {
        const s = view.lastStep;
        if (s?.actor !== 'vcpu') return;
        const c = view.context<WriterContext>('vcpu');
        if (c.atomic && s.what.startsWith('acquire '))
          return `vcpu blocked on a lock in atomic context (${s.what})`;
        if (c.atomic && c.phase === 'refreshing') return 'vcpu refreshed a cache in atomic context';
        if (writerWrite(view) && c.phase !== 'writing')
          return `vcpu wrote the area outside its write phase (${s.what})`;
      },
    },
    // Use after invalidate: every write to the area goes through a valid cache.
    'use-after-invalidate': {
      check(view, p) {
        const w = writerWrite(view);
        if (!w) return;
        const gpc = (w.addr & ~(PAGE - 1)) === (gpaOf(p) & ~(PAGE - 1)) ? GPC1 : GPC2;
        if (view.peek(gpc.addr + GPC_VALID_OFS, 1)[0] !== 1)
          return `vcpu wrote ${hex(w.addr)}/${w.width} through ${gpc.lock} after the MMU notifier invalidated it`;
      },
    },
    // Stale area (§2.4 failure 2): once the writer is done, the guest sees its last update,
    // unless that one ran in atomic context and was skipped (a skip loses nothing, §2.3).
    'stale-area': {
      kind: 'stable',
      check(view, p) {
        if (!view.actor('vcpu').done) return;
        const c = view.context<WriterContext>('vcpu');
        if (c.outcomes.at(-1)?.startsWith('skipped')) return;
        const layout = layoutOf(p);
        const seen = decodeRunstate(layout, view.peek(gpaOf(p), areaSize(layout)));
        const want = encodeRunstate(layout, c.rs).join();
        if (encodeRunstate(layout, seen, seen.flag).join() !== want)
          return `the runstate area is stale: the guest sees ${describe(seen)}, KVM has ${describe(c.rs)} (${c.outcomes.join('; ')})`;
      },
    },
  },
  defaultVariant: 'fixed',
  variants: {
    fixed: {
      description:
        'as fixed (5ec3289b31ab, bbe17c625d, 23e60258ae): 64-bit layout, the flag byte first on page 2, the guest reading meanwhile',
      expect: 'pass',
    },
    'fixed-compat': {
      description:
        'as fixed, compat layout, the flag byte (offset 11) first on page 2, the guest reading meanwhile',
      expect: 'pass',
      params: { layout: 'compat', offset: 2 * PAGE - 11 },
    },
    'fixed-invalidation': {
      description:
        'as fixed, both updates (atomic, then may sleep) while the MMU notifier invalidates both caches: trylock-and-skip, refresh, activate and retry',
      expect: 'pass',
      params: { reader: false, invalidate: 'both', updates: 2 },
    },
    'whole-field-flag': {
      description:
        'pre-fix flag protocol: 64-bit stores of state_entry_time | UPDATE and back; compat layout, the field crossing a cache line',
      expect: 'bug',
      params: { layout: 'compat', offset: PAGE + 64 - 8 },
      provide: { 'runstate-writer': { actions: { writeArea: wholeFieldFlagWrite } } },
    },
    'single-gpc': {
      description: 'pre-fix single GPC of sizeof(64-bit struct): an area crossing a page is never updated',
      expect: 'bug',
      params: { reader: false, updates: 2 },
      provide: { 'runstate-writer': { actions: { splitLengths: singleGpcLengths } } },
    },
    'inverted-lock-order': {
      description: "another path takes gpc2 then gpc1 (both exclusive) against the writer's gpc1 then gpc2",
      expect: 'bug',
      params: { reader: false, invalidate: 'both', updates: 2 },
      provide: { 'mmu-notifier': { actions: { invalidate: invalidateNestedGpc2First } } },
    },
    'check-outside-lock': {
      description: 'gpc1 validity checked before its lock is taken: the MMU notifier invalidates in between',
      expect: 'bug',
      params: { reader: false, invalidate: 'gpc1', offset: PAGE + 0x100, updates: 2 },
      provide: { 'runstate-writer': { guards: { checksUnderLock: () => false } } },
    },
  },
});
