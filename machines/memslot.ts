/**
 * KVM memslots as the arm64 abort path sees them (domain-facts §4.2 step 1): a guest
 * frame either lies in no memslot (`gfn_to_hva_memslot_prot` returns an error hva), in a
 * read-only memslot (KVM_MEM_READONLY: `writable` is false), or in a read-write one.
 */
export const PAGE = 4096;

export type SlotKind = 'absent' | 'ro' | 'rw';

export interface Memslot {
  readonly name: string;
  /** Guest physical address of its first byte (page aligned). */
  readonly base: number;
  readonly pages: number;
  readonly readonly: boolean;
}

/** `hva` and `writable` for the frame holding `ipa`: `errorHva` when no memslot covers it. */
export interface SlotLookup {
  readonly errorHva: boolean;
  readonly writable: boolean;
}

export function lookupSlot(slots: readonly Memslot[], ipa: number): SlotLookup {
  const s = slots.find((m) => ipa >= m.base && ipa < m.base + m.pages * PAGE);
  if (!s) return { errorHva: true, writable: false };
  return { errorHva: false, writable: !s.readonly };
}

export function slotKind(slots: readonly Memslot[], ipa: number): SlotKind {
  const l = lookupSlot(slots, ipa);
  if (l.errorHva) return 'absent';
  return l.writable ? 'rw' : 'ro';
}
