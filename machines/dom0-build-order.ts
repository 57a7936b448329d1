import type { E820Map } from './e820.ts';
import type { P2mRules } from './p2m.ts';

/**
 * `dom0_construct_pvh`'s order (domain-facts §5.1, XEN:xen/arch/x86/hvm/dom0_build.c):
 * pvh_init_p2m → iommu_hwdom_init → pvh_populate_p2m → pvh_load_kernel → pvh_setup_cpus
 * → pvh_setup_acpi. The three steps that map the low MiB are actors the builder runs by
 * message, one after the other; the others have no p2m effect in the model.
 */
export const BUILD_ORDER = [
  'pvh_init_p2m',
  'iommu_hwdom_init',
  'pvh_populate_p2m',
  'pvh_load_kernel',
  'pvh_setup_cpus',
  'pvh_setup_acpi',
] as const;
export type BuildPhase = (typeof BUILD_ORDER)[number];

/** The builder tells a phase actor to run. */
export interface RunEvent {
  readonly type: 'run';
}

/** A phase actor's return value, with what failed when rc != 0. */
export interface PhaseDoneEvent {
  readonly type: 'phase.done';
  readonly phase: BuildPhase;
  readonly rc: number;
  readonly detail?: string;
}

/** Which build flow the phase actors follow: before 6b4f6a31ac, or "mappings created exactly once". */
export type BuildFlow = 'old' | 'map-once';

/** Host memory the phase actors share (scenario layout). */
export interface Dom0Memory {
  /** The p2m table (p2m.ts). */
  readonly p2m: number;
  /** One byte per guest page: its contents, as a signature byte. */
  readonly frames: number;
  /** One byte per host page of the low MiB: its contents, as a signature byte. */
  readonly hostLow: number;
  /** The domain: byte 0 is set by domain_crash. */
  readonly domain: number;
}

export interface PhaseInput {
  readonly mem: Dom0Memory;
  readonly e820: E820Map;
  readonly rules: P2mRules;
  readonly flow: BuildFlow;
  /** The builder's actor name, to reply to. */
  readonly builder: string;
}
