/**
 * The start-up sweep against its mutants: a sweep that forgets either half of the rule
 * (the ledger's groups, or the scope markers) leaves a dead incarnation's forked processes
 * running, and the orphan checker must catch that within the default seeds.
 */

import { createSupervisor } from '../../core/engine/supervisor.js';
import { type LeftoversRule, leftovers } from '../../core/policy/leftovers.js';
import { runCampaign } from '../campaign.js';

const SLOW_MS = 300_000;

/** Only the scope markers: a child that cleared its environment stays in its group. */
const markersOnly: LeftoversRule = (ledger, table, selfPid, scopeOf) =>
  leftovers({ ...ledger, groups: [] }, table, selfPid, scopeOf);

/** Only the ledger's groups: a child that left its group with setsid is missed. */
const ledgerOnly: LeftoversRule = (ledger, table, selfPid) =>
  leftovers(ledger, table, selfPid, () => null);

/** No sweep at all. */
const none: LeftoversRule = () => [];

describe('the start-up sweep in the simulator', () => {
  it.each([
    ['markers only', markersOnly],
    ['ledger only', ledgerOnly],
    ['no sweep', none],
  ] as const)(
    'the orphan checker catches the mutant "%s" within the default 2000 seeds',
    async (_name, rule) => {
      const summary = await runCampaign({
        fromSeed: 1,
        count: 2000,
        createSupervisor,
        leftovers: rule,
        stopAtFirst: true,
      });
      expect(summary.failures[0]?.violation?.failure).toBe('orphan');
    },
    SLOW_MS,
  );

  it(
    'the real rule leaves nothing of a dead incarnation over the same first seeds',
    async () => {
      const summary = await runCampaign({ fromSeed: 1, count: 20, createSupervisor });
      expect(summary.failures).toEqual([]);
      expect(summary.coverage.get('leftovers swept') ?? 0).toBeGreaterThan(0);
    },
    SLOW_MS,
  );
});
