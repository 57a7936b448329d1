import { FSC_FAULT, FSC_LEVEL3, FSC_PERM, type GuestOp } from './arm64-esr.ts';

/**
 * A stage-2 last-level descriptor (LNX:arch/arm64/kvm/hyp/pgtable.c): bit 0 valid, S2AP
 * bits 7:6 (bit 6 read, bit 7 write). The table lives in host memory, one 8-byte word per
 * guest page, so two vCPUs faulting on the same page race on it: the hardware walker
 * reads it, KVM writes it under the mmu lock.
 */
export const PTE_VALID = 1 << 0;
export const PTE_S2AP_R = 1 << 6;
export const PTE_S2AP_W = 1 << 7;

export const PTE_INVALID = 0;
export const PTE_RO = PTE_VALID | PTE_S2AP_R;
export const PTE_RW = PTE_VALID | PTE_S2AP_R | PTE_S2AP_W;

export const isValid = (pte: number): boolean => (pte & PTE_VALID) !== 0;
export const isWritable = (pte: number): boolean => isValid(pte) && (pte & PTE_S2AP_W) !== 0;

/**
 * What stage 2 needs for `op`: loads and DC CIVAC need read permission, stores and DC IVAC
 * need write permission (the architecture requires it for IVAC, domain-facts §4.3 item 4
 * (c1); CIVAC on read-only memory "should just work", (c2)).
 */
export const needsWrite = (op: GuestOp): boolean => op === 'store' || op === 'ivac';

/** The hardware's stage-2 check: the FSC of the fault it raises, or undefined when the access goes through. */
export function stage2Fault(pte: number, op: GuestOp): number | undefined {
  if (!isValid(pte)) return FSC_FAULT | FSC_LEVEL3;
  if ((pte & PTE_S2AP_R) === 0 || (needsWrite(op) && !isWritable(pte))) return FSC_PERM | FSC_LEVEL3;
  return undefined;
}

export function describePte(pte: number): string {
  if (!isValid(pte)) return 'invalid';
  return isWritable(pte) ? 'RW' : 'RO';
}
