import { ModelError } from '../model/errors.ts';
import type { Bug } from '../runtime/step.ts';
import type { ReadTracker, WorldView } from '../runtime/world-view.ts';
import type { ScenarioInstance } from '../scenario/instance.ts';

/**
 * Runs the scenario's invariants against the state after a step (DESIGN §2, "Checkers").
 * The first one broken is the bug; an invariant that throws is a fault of the model.
 */
export function brokenInvariant(
  instance: ScenarioInstance,
  view: WorldView,
  step: number,
  tracker?: ReadTracker,
): Bug | undefined {
  for (const inv of instance.invariants) {
    let r: ReturnType<typeof inv.check>;
    try {
      // Only a tracked invariant's reads need ordering (see DeclaredInvariant).
      if (tracker) tracker.on = inv.kind === 'tracked';
      r = inv.check(view, instance.params);
    } catch (e) {
      if (e instanceof ModelError) throw e;
      throw new ModelError(
        'invalid',
        `invariant '${inv.name}' of scenario '${instance.scenario.name}' threw at step ${step}: ${(e as Error).message}`,
        { step },
      );
    }
    if (tracker) tracker.on = false;
    if (r === undefined || r === true) continue;
    return {
      kind: 'invariant',
      invariant: inv.name,
      message: `invariant ${inv.name} broken: ${typeof r === 'string' ? r : 'returned false'}`,
      step,
      actor: view.lastStep?.actor,
    };
  }
  return undefined;
}
