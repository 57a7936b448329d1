/**
 * A workload for measuring parallel exhaustive search (bench/run.ts): the ioreq
 * handshake of the soundness corpus (test/fixtures/corpus.ts) with more vCPUs, as a
 * scenario file that worker threads can load. `--param vcpus=N`.
 */
import { defineScenario } from '../../src/scenario/define-scenario.ts';
import { ioreq } from '../../test/fixtures/corpus.ts';

const VCPUS = ['3', '4', '5', '6'] as const;

const built = new Map<string, ReturnType<ReturnType<typeof ioreq>['scenario']>>();
const base = (vcpus: string) => {
  let s = built.get(vcpus);
  if (!s) {
    s = ioreq(Number(vcpus)).scenario();
    built.set(vcpus, s);
  }
  return s;
};

export default defineScenario({
  name: 'ioreq-workload',
  description: 'the corpus ioreq handshake: vCPUs sharing one device model (a benchmark workload)',
  params: { vcpus: { default: '5', values: VCPUS, description: 'how many vCPUs' } },
  memory: ({ vcpus }) => base(vcpus).memory({}),
  actors: ({ vcpus }) => base(vcpus).actors({}),
  invariants: {
    // Each conjunct looks at one vCPU's context, as in the corpus.
    'right response': {
      kind: 'local',
      check: (view, { vcpus }) => {
        const inv = Object.values(base(vcpus).invariants ?? {})[0];
        return inv && (typeof inv === 'function' ? inv(view, {}) : inv.check(view, {}));
      },
    },
  },
  variants: { main: { description: 'the only variant', expect: 'pass' } },
});
