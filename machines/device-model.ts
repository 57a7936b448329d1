import { assign, enqueueActions, setup } from 'xstate';
import {
  type AccessResult,
  type DoneEvent,
  leToNumber,
  type OperationEvent,
  read,
  send,
  write,
} from '../src/index.ts';
import { deviceAccess, emptyDevice, type FifoDevice } from './fifo-device.ts';
import {
  dirOf,
  type EvtchnEvent,
  IOREQ_OFF,
  type IoReq,
  STATE_IOREQ_INPROCESS,
  STATE_IOREQ_READY,
  STATE_IORESP_READY,
  slotBase,
  stateByte,
  stateOf,
} from './ioreq.ts';

/**
 * The device model (QEMU's main loop, QEMU:hw/xen/xen-hvm-common.c) serving synchronous
 * ioreqs: domain-facts §1.2 steps 3-5. On a notification it requires READY, claims the
 * slot (INPROCESS), copies the request, lets the device handle it, writes the data back,
 * re-checks INPROCESS ("Badness in I/O request" otherwise) and publishes IORESP_READY.
 */
export interface DeviceModelInput {
  readonly ioreqPage: number;
  /** The vCPUs it serves: actor name, vcpu_id and event-channel port. */
  readonly vcpus: readonly { readonly actor: string; readonly id: number; readonly port: number }[];
}

export interface DeviceModelContext extends DeviceModelInput {
  /** The vCPU whose port fired. */
  readonly current: number;
  /** The local copy of the request being handled, and the data to return. */
  readonly req: IoReq | undefined;
  readonly response: readonly number[];
  readonly device: FifoDevice;
  readonly failure: string | undefined;
}

type DmEvent = EvtchnEvent | DoneEvent;

function results(event: DmEvent): Record<string, AccessResult> {
  return (event as DoneEvent).results as Record<string, AccessResult>;
}

function bytesOf(r: AccessResult | undefined): readonly number[] {
  return r?.ok ? r.bytes : [];
}

function vcpuOf(ctx: DeviceModelContext) {
  return ctx.vcpus[ctx.current];
}

function slot(ctx: DeviceModelContext): number {
  return slotBase(ctx.ioreqPage, vcpuOf(ctx).id);
}

/** The machine's typed setup: variants and tests build their own implementations with it. */
export const deviceModelSetup = setup({
  types: {
    context: {} as DeviceModelContext,
    input: {} as DeviceModelInput,
    events: {} as DmEvent,
    emitted: {} as OperationEvent,
  },
  actions: {
    // The port is pending: map it back to its vCPU.
    takePort: assign(({ context, event }) => ({
      current: context.vcpus.findIndex((v) => v.port === (event as EvtchnEvent).port),
    })),
    readState: read(({ context }) => slot(context) + IOREQ_OFF.stateByte, 1, 'state'),
    // READY seen (then rmb): set INPROCESS and copy the request out of the slot.
    claimAndCopy: enqueueActions(({ context, event, enqueue }) => {
      const byte = bytesOf(results(event).state)[0];
      enqueue(
        write(
          slot(context) + IOREQ_OFF.stateByte,
          [stateByte(STATE_IOREQ_INPROCESS, dirOf(byte))],
          'state=INPROCESS',
        ),
      );
      enqueue(read(slot(context) + IOREQ_OFF.addr, 8, 'addr'));
      enqueue(read(slot(context) + IOREQ_OFF.data, 8, 'data'));
      enqueue(read(slot(context) + IOREQ_OFF.size, 4, 'size'));
      enqueue(read(slot(context) + IOREQ_OFF.stateByte, 1, 'dir'));
    }),
    // handle_ioreq on the local copy: write data is masked to `size` bytes.
    handle: assign(({ context, event }) => {
      const r = results(event);
      const size = leToNumber(bytesOf(r.size));
      const dir = dirOf(bytesOf(r.dir)[0]);
      const req: IoReq = {
        addr: leToNumber(bytesOf(r.addr)),
        size,
        dir,
        data: dir === 'write' ? bytesOf(r.data).slice(0, size) : [],
      };
      const { device, data } = deviceAccess(
        context.device,
        vcpuOf(context).id,
        req.addr,
        req.size,
        req.dir,
        req.data,
      );
      return { req, device, response: dir === 'read' ? data : req.data };
    }),
    // req->data = copy.data, then check the slot is still ours.
    writeBackAndRecheck: enqueueActions(({ context, enqueue }) => {
      const data = [...context.response, ...new Array(8 - context.response.length).fill(0)];
      enqueue(write(slot(context) + IOREQ_OFF.data, data, 'data'));
      enqueue(read(slot(context) + IOREQ_OFF.stateByte, 1, 'state'));
    }),
    // wmb (data before state), IORESP_READY, notify.
    respond: enqueueActions(({ context, enqueue }) => {
      const v = vcpuOf(context);
      enqueue(
        write(
          slot(context) + IOREQ_OFF.stateByte,
          [stateByte(STATE_IORESP_READY, context.req!.dir)],
          'state=IORESP_READY',
        ),
      );
      enqueue(send(v.actor, { type: 'evtchn', port: v.port }));
    }),
    noteBadness: assign({ failure: 'Badness in I/O request: state no longer INPROCESS; domain destroyed' }),
  },
  guards: {
    knownPort: ({ context, event }) => context.vcpus.some((v) => v.port === (event as EvtchnEvent).port),
    slotReady: ({ event }) => stateOf(bytesOf(results(event).state)[0] ?? 0) === STATE_IOREQ_READY,
    stillInProcess: ({ event }) => stateOf(bytesOf(results(event).state)[0] ?? 0) === STATE_IOREQ_INPROCESS,
  },
});

export const deviceModel = deviceModelSetup.createMachine({
  id: 'device-model',
  context: ({ input }) => ({
    ...input,
    current: 0,
    req: undefined,
    response: [],
    device: emptyDevice,
    failure: undefined,
  }),
  initial: 'idle',
  states: {
    idle: {
      tags: ['idle'],
      on: { evtchn: { guard: 'knownPort', target: 'checkingState', actions: 'takePort' } },
    },
    checkingState: {
      entry: 'readState',
      on: {
        // Not READY: "I/O request not ready", nothing to do.
        'ops.done': [{ guard: 'slotReady', target: 'copyingRequest' }, { target: 'idle' }],
      },
    },
    copyingRequest: {
      entry: 'claimAndCopy',
      on: { 'ops.done': { target: 'writingBack', actions: 'handle' } },
    },
    writingBack: {
      entry: 'writeBackAndRecheck',
      on: {
        'ops.done': [
          { guard: 'stillInProcess', target: 'responding' },
          { target: 'destroyed', actions: 'noteBadness' },
        ],
      },
    },
    responding: {
      entry: 'respond',
      on: { 'ops.done': 'idle' },
    },
    destroyed: { type: 'final' },
  },
});
