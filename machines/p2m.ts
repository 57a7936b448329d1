/**
 * Dom0's p2m for the PVH build (domain-facts §5): a table in host memory, one 8-byte
 * entry per GFN below E820_LIMIT, so every lookup and update is one scheduler step:
 *
 *   byte 0 the p2m type, byte 1 the caller that established the entry (model bookkeeping,
 *   so P1 and the failure report can name both callers), bytes 2-3 the mfn (little-endian),
 *   byte 4 the access (p2m_access_t), bytes 5-7 zero.
 *
 * The accessors of §5.2 are pure rule functions from the entry found to the outcome, for
 * three rule sets: before XSA-378, XSA-378 as of 6b4f6a31ac (753cb68e65: mmio_direct is
 * special), and with 111469cc7b (identical re-mappings allowed). The machines read the
 * entry, apply the rule, and write what it says. Every mapping is 4 KiB (PAGE_ORDER_4K), as
 * the PVH builder's low-MiB paths request; the "smaller existing order" row is kept in
 * the rules for completeness. Grant and foreign entries, the other special types, never
 * occur in the build and are not modelled.
 */
export const P2M_ENTRY_SIZE = 8;

export const P2M_INVALID = 0;
export const P2M_RAM_RW = 1;
export const P2M_MMIO_DIRECT = 2;
export const P2M_MMIO_DM = 3;
export type P2mType = typeof P2M_INVALID | typeof P2M_RAM_RW | typeof P2M_MMIO_DIRECT | typeof P2M_MMIO_DM;

const TYPE_NAMES: Readonly<Record<number, string>> = {
  [P2M_INVALID]: 'p2m_invalid',
  [P2M_RAM_RW]: 'p2m_ram_rw',
  [P2M_MMIO_DIRECT]: 'p2m_mmio_direct',
  [P2M_MMIO_DM]: 'p2m_mmio_dm',
};
export const p2mTypeName = (t: number) => TYPE_NAMES[t] ?? `p2m type ${t}`;

/** p2m_access_t: the default (rwx, what set_mmio_p2m_entry uses) and rw (set_identity_p2m_entry's). */
export const ACCESS_RWX = 0;
export const ACCESS_RW = 1;

export const INVALID_MFN = 0xffff;

/** Who establishes an entry: the paths of the build that map the low MiB (§5.3, §5.4). */
export const CALLERS = {
  iommu: 'arch_iommu_hwdom_init (set_identity_p2m_entry)',
  blanket: 'pvh_populate_p2m: modify_identity_mmio(0, 256) (set_mmio_p2m_entry)',
  ram: 'pvh_populate_memory_range (guest_physmap_add_page)',
  hole: 'pvh_populate_p2m: identity map of a low-MiB hole (set_mmio_p2m_entry)',
  acpi: 'pvh_setup_acpi: modify_identity_mmio (set_mmio_p2m_entry)',
} as const;
export type Caller = keyof typeof CALLERS;
const CALLER_CODES: readonly Caller[] = ['iommu', 'blanket', 'ram', 'hole', 'acpi'];
export const callerCode = (c: Caller) => CALLER_CODES.indexOf(c) + 1;
export const callerOf = (code: number): Caller | undefined => CALLER_CODES[code - 1];
export const callerName = (code: number) => {
  const c = callerOf(code);
  return c ? CALLERS[c] : 'nobody';
};

export interface P2mEntry {
  readonly type: P2mType;
  /** callerCode of who established it; 0 for none. */
  readonly owner: number;
  readonly mfn: number;
  readonly access: number;
}

export const EMPTY_ENTRY: P2mEntry = { type: P2M_INVALID, owner: 0, mfn: INVALID_MFN, access: ACCESS_RWX };

export function encodeEntry(e: P2mEntry): number[] {
  return [e.type, e.owner, e.mfn & 0xff, (e.mfn >> 8) & 0xff, e.access, 0, 0, 0];
}

export function decodeEntry(b: readonly number[]): P2mEntry {
  return {
    type: (b[0] ?? 0) as P2mType,
    owner: b[1] ?? 0,
    mfn: (b[2] ?? 0) | ((b[3] ?? 0) << 8),
    access: b[4] ?? 0,
  };
}

export const entryAddr = (table: number, gfn: number) => table + gfn * P2M_ENTRY_SIZE;

export type P2mRules = 'pre-xsa378' | 'xsa378' | 'xsa378+111469cc7b';
export const P2M_RULES: readonly P2mRules[] = ['pre-xsa378', 'xsa378', 'xsa378+111469cc7b'];

export const EPERM = -1;
export const EBUSY = -16;

/** What an accessor does: its return value, whether it crashed the domain, the entry it writes. */
export interface P2mOutcome {
  readonly rc: number;
  readonly crash: boolean;
  readonly write?: P2mEntry;
  /** set_typed_p2m_entry over RAM: the M2P entry invalidated and a mapcache invalidate requested. */
  readonly m2pInvalidated?: boolean;
  /** What Xen logs. */
  readonly log?: string;
}

/** Does the accessor's outcome change anything: write the entry, or crash the domain? */
export const outcomeChanges = (o: P2mOutcome | undefined) => o?.write !== undefined || o?.crash === true;

/** The host-memory stores an outcome makes: p2m_set_entry of `gfn`'s entry, then domain_crash. */
export function outcomeStores(
  mem: { readonly p2m: number; readonly domain: number },
  gfn: number,
  o: P2mOutcome | undefined,
): { readonly addr: number; readonly bytes: number[]; readonly tag: string }[] {
  return [
    ...(o?.write
      ? [{ addr: entryAddr(mem.p2m, gfn), bytes: encodeEntry(o.write), tag: 'p2m_set_entry' }]
      : []),
    ...(o?.crash ? [{ addr: mem.domain, bytes: [1], tag: 'domain_crash' }] : []),
  ];
}

/** §5.1: mmio_direct is special from 753cb68e65 on (XSA-378); before, nothing the build meets is. */
export function isSpecial(rules: P2mRules, t: P2mType): boolean {
  return rules !== 'pre-xsa378' && t === P2M_MMIO_DIRECT;
}

const hex = (n: number) => `0x${n.toString(16)}`;

export interface TypedRequest {
  readonly gfn: number;
  readonly mfn: number;
  readonly type: P2mType;
  readonly access: number;
  readonly owner: number;
  /** Requested page order (the builder always asks for 4K: 0). */
  readonly order?: number;
}

/**
 * `set_typed_p2m_entry`, behind `set_mmio_p2m_entry` (map_mmio_regions, modify_identity_mmio),
 * domain-facts §5.2 rows 1-3.
 */
export function setTypedP2mEntry(
  rules: P2mRules,
  cur: P2mEntry,
  req: TypedRequest,
  curOrder = 0,
): P2mOutcome {
  const order = req.order ?? 0;
  // §5.2: the existing order is smaller than requested: return cur_order + 1, the caller retries.
  if (curOrder < order) return { rc: curOrder + 1, crash: false };
  const write: P2mEntry = { type: req.type, owner: req.owner, mfn: req.mfn, access: req.access };
  if (isSpecial(rules, cur.type)) {
    // §5.2 after 111469cc7b: an identical mfn and type is 0, re-set if the access differs.
    if (rules === 'xsa378+111469cc7b' && cur.mfn === req.mfn && cur.type === req.type) {
      return cur.access === req.access
        ? { rc: 0, crash: false }
        : { rc: 0, crash: false, write: { ...cur, access: req.access } };
    }
    // §5.2: any other special entry: domain_crash + -EPERM (the log line from 111469cc7b).
    return {
      rc: EPERM,
      crash: true,
      log:
        rules === 'xsa378+111469cc7b'
          ? `GFN ${hex(req.gfn)} (${hex(cur.mfn)}:${cur.type}) -> (${hex(req.mfn)}:${req.type}) not permitted`
          : undefined,
    };
  }
  // §5.2: over RAM: invalidate the M2P entry, request a mapcache invalidate, overwrite.
  if (cur.type === P2M_RAM_RW) return { rc: 0, crash: false, write, m2pInvalidated: true };
  return { rc: 0, crash: false, write };
}

/** `set_mmio_p2m_entry(d, gfn, mfn, order)`: p2m_mmio_direct with the default access. */
export function setMmioP2mEntry(rules: P2mRules, cur: P2mEntry, gfn: number, mfn: number, owner: number) {
  return setTypedP2mEntry(rules, cur, { gfn, mfn, type: P2M_MMIO_DIRECT, access: ACCESS_RWX, owner });
}

/**
 * `guest_physmap_add_entry` (RAM population through guest_physmap_add_page), §5.2 row 4:
 * a special entry is domain_crash + -EPERM; before XSA-378 mmio_direct was silently
 * replaced.
 */
export function guestPhysmapAddEntry(
  rules: P2mRules,
  cur: P2mEntry,
  req: { readonly mfn: number; readonly owner: number },
): P2mOutcome {
  if (isSpecial(rules, cur.type)) return { rc: EPERM, crash: true };
  return {
    rc: 0,
    crash: false,
    write: { type: P2M_RAM_RW, owner: req.owner, mfn: req.mfn, access: ACCESS_RWX },
  };
}

/**
 * `set_identity_p2m_entry(d, gfn, p2m_access_rw, flag)` (IOMMU hwdom init, RMRRs), §5.2
 * rows 5-7: invalid or mmio_dm → mmio_direct with mfn == gfn; the same identity mapping →
 * 0; anything else → -EBUSY (0 with XEN_DOMCTL_DEV_RDM_RELAXED) and a warning, never an
 * overwrite. The same in every rule set.
 */
export function setIdentityP2mEntry(
  cur: P2mEntry,
  req: { readonly gfn: number; readonly owner: number; readonly relaxed?: boolean },
): P2mOutcome {
  if (cur.type === P2M_INVALID || cur.type === P2M_MMIO_DM) {
    return {
      rc: 0,
      crash: false,
      write: { type: P2M_MMIO_DIRECT, owner: req.owner, mfn: req.gfn, access: ACCESS_RW },
    };
  }
  if (cur.type === P2M_MMIO_DIRECT && cur.mfn === req.gfn && cur.access === ACCESS_RW)
    return { rc: 0, crash: false };
  return {
    rc: req.relaxed ? 0 : EBUSY,
    crash: false,
    log: `Cannot setup identity map d0:${req.gfn.toString(16)}, gfn already mapped to ${cur.mfn.toString(16)}.`,
  };
}

/** `get_gfn_query`: the mfn, INVALID_MFN for an entry that maps nothing. */
export function queryMfn(cur: P2mEntry): number {
  return cur.type === P2M_INVALID || cur.type === P2M_MMIO_DM ? INVALID_MFN : cur.mfn;
}

export type P2mAccessor = 'set_mmio_p2m_entry' | 'guest_physmap_add_entry' | 'set_identity_p2m_entry';

/** One accessor call as the caller records it: what it asked, what it found, what it got. */
export interface P2mCall {
  readonly fn: P2mAccessor;
  readonly caller: Caller;
  readonly gfn: number;
  readonly before: P2mEntry;
  readonly rc: number;
  readonly crash: boolean;
  readonly wrote: boolean;
}

export function errno(rc: number): string {
  return rc === EPERM ? '-EPERM' : rc === EBUSY ? '-EBUSY' : String(rc);
}

/** "<caller> got -EPERM, domain_crash, over the p2m_mmio_direct entry <owner> established". */
export function describeCall(c: P2mCall): string {
  const over =
    c.before.type === P2M_INVALID
      ? 'an empty entry'
      : `the ${p2mTypeName(c.before.type)} entry ${callerName(c.before.owner)} established`;
  const got = c.crash ? `${errno(c.rc)}, domain_crash` : errno(c.rc);
  return `${CALLERS[c.caller]} got ${got}, over ${over}`;
}

/** describeCall, with the gfn first. */
export const describeCallAt = (c: P2mCall) => `gfn ${hex(c.gfn)}: ${describeCall(c)}`;
