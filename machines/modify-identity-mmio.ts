/**
 * `modify_identity_mmio(d, pfn, nr_pages, map)` over `map_mmio_regions` (XEN:
 * xen/arch/x86/hvm/dom0_build.c and mm/p2m.c), the loop the builder uses to identity-map a
 * range with set_mmio_p2m_entry, as pure arithmetic the machines step through one
 * set_mmio_p2m_entry at a time.
 *
 * map_mmio_regions makes at most MAP_MMIO_MAX_ITER (64) calls and returns its progress:
 * 0 when the range is done, the number of pages done (> 0) when it stopped early, at the
 * iteration limit or at an error after some progress, and the error when the very first
 * call failed (domain-facts §5.1). modify_identity_mmio loops on positive returns, so an
 * error after progress is retried once from the failing pfn, which fails again and ends
 * the loop with the error.
 */
export const MAP_MMIO_MAX_ITER = 64;

export interface MmioWalk {
  /** Where the current map_mmio_regions call starts, and its length. */
  readonly pfn: number;
  readonly nr: number;
  /** Pages done and iterations made in the current map_mmio_regions call. */
  readonly i: number;
  readonly iter: number;
  /** map_mmio_regions calls made so far. */
  readonly calls: number;
}

export type WalkStep = { readonly next: MmioWalk } | { readonly rc: number };

/** The first set_mmio_p2m_entry of modify_identity_mmio(pfn, nr), or rc 0 for an empty range. */
export function startWalk(pfn: number, nr: number): WalkStep {
  return nr === 0 ? { rc: 0 } : { next: { pfn, nr, i: 0, iter: 0, calls: 1 } };
}

/** The gfn (== mfn) the next set_mmio_p2m_entry maps. */
export const walkGfn = (w: MmioWalk) => w.pfn + w.i;

/** After set_mmio_p2m_entry returned `ret` for walkGfn(w): the next call, or modify_identity_mmio's rc. */
export function walkAfter(w: MmioWalk, ret: number): WalkStep {
  if (ret >= 0) {
    // ret > 0 asks for a smaller order; every call here is already 4K (order 0).
    const i = w.i + 1;
    const iter = w.iter + 1;
    if (i === w.nr) return { rc: 0 };
    if (iter < MAP_MMIO_MAX_ITER) return { next: { ...w, i, iter } };
    // Partial progress: modify_identity_mmio continues from pfn + i (process_pending_softirqs).
    return { next: { pfn: w.pfn + i, nr: w.nr - i, i: 0, iter: 0, calls: w.calls + 1 } };
  }
  // `return i == nr ? 0 : i ?: ret;`
  if (w.i > 0) return { next: { pfn: w.pfn + w.i, nr: w.nr - w.i, i: 0, iter: 0, calls: w.calls + 1 } };
  return { rc: ret };
}

/** Where a machine driving modify_identity_mmio is: the walk, its gfn, and the last call's rc. */
export interface WalkPosition {
  readonly walk: MmioWalk | undefined;
  readonly gfn: number;
  readonly call: { readonly rc: number } | undefined;
}

const stepAfter = (p: WalkPosition) => (p.walk && p.call ? walkAfter(p.walk, p.call.rc) : undefined);

/** The walk moved on past the last call (or left where it is when it has ended). */
export function advanceWalk(p: WalkPosition): { walk: MmioWalk | undefined; gfn: number } {
  const s = stepAfter(p);
  const walk = s && 'next' in s ? s.next : p.walk;
  return { walk, gfn: walk ? walkGfn(walk) : p.gfn };
}

/** Does modify_identity_mmio make another set_mmio_p2m_entry call? */
export function walkContinues(p: WalkPosition): boolean {
  const s = stepAfter(p);
  return s !== undefined && 'next' in s;
}

/** Did modify_identity_mmio end with an error? */
export function walkFailed(p: WalkPosition): boolean {
  const s = stepAfter(p);
  return s !== undefined && 'rc' in s && s.rc !== 0;
}
