/**
 * The pure engine driven one step at a time, for tests that look at each step's effects:
 * it holds the state and the time, starts with `daemon-started`, and fails the test on a
 * step the engine refuses unless the test asks for the refusal (`step`).
 */

import type {
  Effect,
  EngineEvent,
  EngineOptions,
  EngineState,
  StepResult,
} from '../core/engine/model.js';
import { initialState, step } from '../core/engine/step.js';
import type { CgroupCaps } from '../core/ports.js';
import { caps } from './fakes.js';

export class Stepper {
  state: EngineState;
  nowMs = 0;

  constructor(options: Partial<EngineOptions> = {}, cgroupCaps: CgroupCaps = caps(false)) {
    const base = { sampleEveryMs: 0, saveDelayMs: 200, deadCommandsMax: 8, cores: 1 };
    this.state = initialState({ ...base, ...options });
    this.run({ type: 'daemon-started', caps: cgroupCaps });
  }

  /** One step from the current state and time; the state stays as it was. */
  step(event: EngineEvent): StepResult {
    return step(this.state, event, this.nowMs);
  }

  /** One step that must be taken: the state moves on; its effects. */
  run(event: EngineEvent): Effect[] {
    const r = this.step(event);
    if (r.error) throw new Error(`step ${event.type} refused: ${r.error.message}`);
    this.state = r.state;
    return r.effects;
  }
}
