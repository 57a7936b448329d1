import { assign, setup } from 'xstate';
import { type DoneEvent, type OperationEvent, send } from '../src/index.ts';
import { KVM_EXIT_MMIO } from './arm64-esr.ts';
import type { ExitEvent, RunEvent } from './arm64-vcpu.ts';

/**
 * The VMM's KVM_RUN loop for the vCPUs (userspace). It records every exit it gets
 * (domain-facts §4.1: KVM_EXIT_ARM_NISV carries `esr_iss` and `fault_ipa`). A decodable
 * MMIO exit (KVM_EXIT_MMIO) is emulated and the vCPU entered again; an abort without
 * syndrome cannot be emulated ("the chances that userspace is adequately equipped to deal
 * with such an exception being slim", seed 001), so that vCPU is not entered again.
 */
export interface VmmContext {
  readonly exits: readonly ExitEvent[];
  readonly current: string;
}

type VmmEvent = ExitEvent | DoneEvent;

export const arm64VmmSetup = setup({
  types: {
    context: {} as VmmContext,
    events: {} as VmmEvent,
    emitted: {} as OperationEvent,
  },
  actions: {
    record: assign(({ context, event }) => {
      const e = event as ExitEvent;
      return { exits: [...context.exits, e], current: e.vcpu };
    }),
    reenter: send(
      ({ context }) => context.current,
      (): RunEvent => ({ type: 'run' }),
    ),
  },
  guards: {
    emulable: ({ event }) => (event as ExitEvent).reason === KVM_EXIT_MMIO,
  },
});

export const arm64Vmm = arm64VmmSetup.createMachine({
  id: 'arm64-vmm',
  context: { exits: [], current: '' },
  initial: 'idle',
  states: {
    idle: {
      tags: ['idle'],
      on: {
        exit: [
          { guard: 'emulable', target: 'emulating', actions: 'record' },
          { target: 'idle', actions: 'record' },
        ],
      },
    },
    emulating: { entry: 'reenter', on: { 'ops.done': 'idle' } },
  },
});
