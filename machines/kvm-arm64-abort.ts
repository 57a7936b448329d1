import {
  type Abort,
  FSC_ACCESS,
  FSC_FAULT,
  FSC_PERM,
  fscType,
  isCm,
  isS1ptw,
  isValidSyndrome,
  isWriteFault,
} from './arm64-esr.ts';
import type { SlotLookup } from './memslot.ts';
import { isValid, PTE_RO, PTE_RW, PTE_S2AP_R, PTE_S2AP_W } from './stage2-pte.ts';

/**
 * `kvm_handle_guest_abort` (LNX:arch/arm64/kvm/mmu.c), the decision procedure of
 * domain-facts §4.2, with the two points the RFC of seed 001 and its review alternatives
 * change (§4.3) as separate functions:
 * - what a CMO does once it reached the error branch (`CmoInErrorBranch`);
 * - whether `user_mem_abort` counts the abort as a write (`UserMemAbortWriteFault`).
 * The vCPU machine (arm64-vcpu.ts) runs these steps; variants swap its named actions for
 * the implementations below.
 */

/** Where the abort goes. */
export type AbortPath =
  /** -ENOEXEC: a prefetch abort is injected (instruction abort on I/O). */
  | 'inject-pabt'
  /** A data abort is injected at FAR = the faulting VA (HFAR). */
  | 'inject-dabt'
  /** kvm_incr_pc: the instruction is skipped, PC += 4; return 1 (§4.2 step 2). */
  | 'skip'
  /** KVM cleans and invalidates the line itself and skips the instruction (as-civac, §4.3 item 5). */
  | 'civac-and-skip'
  /** io_mem_abort (§4.2 step 2, last case). */
  | 'io-mem-abort'
  /** Access flag fault: handled in place (§4.2 step 3). */
  | 'access-flag'
  /** user_mem_abort: the page is faulted in (§4.2 step 3). */
  | 'user-mem-abort';

/** What a CMO in the error branch does (the RFC's `goto handle_access` is `user-mem-abort`). */
export type CmoInErrorBranch = (abort: Abort, slot: SlotLookup) => AbortPath;

/** Mainline (§4.2): a CMO with no memslot is skipped; otherwise on to io_mem_abort. */
export const mainlineCmo: CmoInErrorBranch = (_a, slot) => (slot.errorHva ? 'skip' : 'io-mem-abort');

/**
 * The RFC (§4.3 item 4, seed 001): error hva → skip; FSC_PERM (only DC IVAC can get here
 * with a permission fault on a read-only slot) → inject a data abort at HFAR; anything
 * else → `goto handle_access` (fault the page in).
 */
export const rfcCmo: CmoInErrorBranch = (a, slot) => {
  if (slot.errorHva) return 'skip';
  if (fscType(a.esr) === FSC_PERM) return 'inject-dabt';
  return 'user-mem-abort';
};

/** Marc's note (§4.3 items 4-5): as the RFC, but DC IVAC on read-only memory is performed as DC CIVAC. */
export const asCivacCmo: CmoInErrorBranch = (a, slot) => {
  if (slot.errorHva) return 'skip';
  if (fscType(a.esr) === FSC_PERM) return 'civac-and-skip';
  return 'user-mem-abort';
};

/**
 * Skip every CMO that reaches the error branch: no memslot **or** a read-only one (CMOs
 * report WnR=1, so `write_fault && !writable`). This is both the 2016 code (§4.3 item 1,
 * whose comment assumed "we know it is outside of any memory slot") and Alexandru
 * Elisei's review proposal, "simply skipping CMOs on read-only memslots" (§4.3 item 5).
 */
export const skipCmo: CmoInErrorBranch = () => 'skip';

/** `write_fault` as user_mem_abort computes it. */
export type UserMemAbortWriteFault = (abort: Abort) => boolean;

/** Mainline: kvm_is_write_fault (§4.1), so a CMO is a write. */
export const mainlineUserMemAbortWrite: UserMemAbortWriteFault = (a) => isWriteFault(a);

/**
 * The RFC (§4.3 item 4): a translation fault with CM=1 is a read, which maps the page
 * read-only even on a read-write slot; a later permission fault with CM=1 can only be IVAC.
 */
export const cmoTranslationFaultAsRead: UserMemAbortWriteFault = (a) =>
  fscType(a.esr) === FSC_FAULT && isCm(a.esr) ? false : isWriteFault(a);

/**
 * §4.2 steps 1-2 up to the error branch: where the abort goes, given the policy for CMOs.
 * The io_mem_abort outcome (decodable MMIO, NISV exit or -ENOSYS) is `ioMemAbortExit`.
 */
export function handleGuestAbort(a: Abort, slot: SlotLookup, cmo: CmoInErrorBranch): AbortPath {
  if (slot.errorHva || (isWriteFault(a) && !slot.writable)) {
    if (a.iabt) return 'inject-pabt';
    if (isS1ptw(a.esr)) return 'inject-dabt';
    if (isCm(a.esr)) {
      const p = cmo(a, slot);
      return p === 'user-mem-abort' ? handleAccess(a) : p;
    }
    return 'io-mem-abort';
  }
  return handleAccess(a);
}

/** §4.2 step 3: access-flag faults in place; translation and permission faults to user_mem_abort. */
export function handleAccess(a: Abort): AbortPath {
  return fscType(a.esr) === FSC_ACCESS ? 'access-flag' : 'user-mem-abort';
}

/** What io_mem_abort ends in (LNX:arch/arm64/kvm/mmio.c, §4.2 step 2). */
export type IoExit = 'mmio' | 'nisv' | '-ENOSYS';

/**
 * With a valid syndrome, KVM_EXIT_MMIO for the VMM to emulate; with ISV=0 (every CMO,
 * §4.1), KVM_EXIT_ARM_NISV if the VMM opted in (KVM_CAP_ARM_NISV_TO_USER), else -ENOSYS
 * ("Data abort outside memslots with no valid syndrome info"). Protected VMs (a data
 * abort injected instead) are not modelled.
 */
export function ioMemAbortExit(esr: number, nisvToUser: boolean): IoExit {
  if (isValidSyndrome(esr)) return 'mmio';
  return nisvToUser ? 'nisv' : '-ENOSYS';
}

/**
 * The stage-2 update user_mem_abort makes under the mmu lock, from the entry it finds
 * (LNX:arch/arm64/kvm/hyp/pgtable.c): a permission fault relaxes the permissions
 * (kvm_pgtable_stage2_relax_perms, write only if the slot is writable); a translation
 * fault maps the page, writable only for a write fault on a writable slot. When another
 * vCPU installed a valid entry meanwhile, the map differs at most in permissions and is
 * dropped (-EAGAIN): the vCPU re-executes and faults again if it needs more.
 */
export function stage2Update(pte: number, fsc: number, write: boolean, writableSlot: boolean): number {
  const w = write && writableSlot;
  if (fscType(fsc) === FSC_PERM) return isValid(pte) ? pte | PTE_S2AP_R | (w ? PTE_S2AP_W : 0) : pte;
  if (isValid(pte)) return pte;
  return w ? PTE_RW : PTE_RO;
}
