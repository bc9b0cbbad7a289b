/**
 * The apply operation is exercised: over the first seeds, applies finish and converge, and
 * some are cut by a daemon crash and applied again to the restored daemon.
 */

import { createSupervisor } from '../core/engine/supervisor.js';
import { runCampaign } from './campaign.js';

describe('apply in the simulator', () => {
  it('converges after every completed apply, crash or not, over the first 40 seeds', async () => {
    const summary = await runCampaign({ fromSeed: 1, count: 40, createSupervisor });
    expect(summary.failures).toEqual([]);
    expect(summary.coverage.get('applies converged') ?? 0).toBeGreaterThan(10);
    expect(summary.coverage.get('applies interrupted by a crash') ?? 0).toBeGreaterThan(0);
  }, 300_000);
});
