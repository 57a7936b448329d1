/**
 * The arm64 data-abort syndrome as KVM reads it (LNX:arch/arm64/include/asm/esr.h and
 * kvm_emulate.h), domain-facts §4.1. Only the ISS bits the abort path looks at are
 * modelled; the exception class is implied (every abort here is a data abort from a lower
 * EL, except where `iabt` says otherwise).
 */

/** Instruction syndrome valid: 0 for CMO aborts, so there is nothing to decode (§4.1). */
export const ESR_ISV = 1 << 24;
/** The abort came from a cache maintenance instruction: kvm_vcpu_dabt_is_cm() (§4.1). */
export const ESR_CM = 1 << 8;
/** Fault on a stage-1 page-table walk (§4.1). */
export const ESR_S1PTW = 1 << 7;
/** Write not Read: CMO aborts report WnR=1, so KVM sees a CMO as a write fault (§4.1). */
export const ESR_WNR = 1 << 6;
/** The fault status code, bits 5:0; its type is bits 5:2 (mask 0x3C), the level bits 1:0. */
export const ESR_FSC = 0x3f;
export const ESR_FSC_TYPE = 0x3c;

/** FSC types (§4.1): translation (FSC_FAULT), access flag, permission (FSC_PERM). */
export const FSC_FAULT = 0x04;
export const FSC_ACCESS = 0x08;
export const FSC_PERM = 0x0c;
/** Stage-2 faults here are taken at level 3 (4 KiB pages): FSC = type | 3. */
export const FSC_LEVEL3 = 3;

/** KVM_EXIT_MMIO: a decoded MMIO access for the VMM to emulate. */
export const KVM_EXIT_MMIO = 6;
/** KVM_EXIT_ARM_NISV: a data abort outside memslots with no valid syndrome (§4.1). */
export const KVM_EXIT_ARM_NISV = 28;

/** The ISS bits KVM copies into `kvm_run->arm_nisv.esr_iss` (LNX:arch/arm64/kvm/mmio.c, §4.1). */
export const NISV_ISS_MASK = ESR_CM | ESR_WNR | ESR_FSC;

export interface Abort {
  readonly esr: number;
  /** An instruction abort (ESR_ELx_EC_IABT_LOW) rather than a data abort. */
  readonly iabt: boolean;
}

export const fscType = (esr: number): number => esr & ESR_FSC_TYPE;
export const isCm = (esr: number): boolean => (esr & ESR_CM) !== 0;
export const isS1ptw = (esr: number): boolean => (esr & ESR_S1PTW) !== 0;
export const isValidSyndrome = (esr: number): boolean => (esr & ESR_ISV) !== 0;

/**
 * kvm_is_write_fault (§4.1): for S1PTW it is true only on a permission fault (since 2022);
 * an instruction abort is never a write; otherwise it returns WnR.
 */
export function isWriteFault(a: Abort): boolean {
  if (isS1ptw(a.esr)) return fscType(a.esr) === FSC_PERM;
  if (a.iabt) return false;
  return (a.esr & ESR_WNR) !== 0;
}

/** `esr_iss` of a KVM_EXIT_ARM_NISV exit: masked to CM | WnR | FSC (§4.1). */
export const nisvIss = (esr: number): number => esr & NISV_ISS_MASK;

/** What the guest instruction is, for the syndrome the hardware builds. */
export type GuestOp = 'ivac' | 'civac' | 'load' | 'store';

export const isCmo = (op: GuestOp): boolean => op === 'ivac' || op === 'civac';

/**
 * The syndrome of a stage-2 data abort taken by `op` with fault status `fsc`: a CMO has
 * ISV=0, CM=1 and WnR=1 (§4.1); an ordinary load or store of a general register has a
 * valid syndrome, WnR set for the store.
 */
export function dataAbortEsr(op: GuestOp, fsc: number): number {
  if (isCmo(op)) return ESR_CM | ESR_WNR | fsc;
  return ESR_ISV | (op === 'store' ? ESR_WNR : 0) | fsc;
}
