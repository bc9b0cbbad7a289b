/** The checker set, one fresh instance per seed run (they keep cursors and tallies). */

import { BackoffChecker } from './backoff.js';
import { ContractChecker } from './contract.js';
import { DecisionChecker } from './decision.js';
import { ExitZeroChecker } from './exit-zero.js';
import { OrphanChecker } from './orphan.js';
import { PlacementChecker } from './placement.js';
import { QueueDurableChecker } from './queue-durable.js';
import { QueueOrderChecker } from './queue-order.js';
import { QueueRerunChecker } from './queue-rerun.js';
import { QueueSingleChecker } from './queue-single.js';
import { QuotaChecker } from './quota.js';
import { RestartLimitChecker } from './restart-limit.js';
import { RestoreChecker } from './restore.js';
import { ServicesChecker } from './services.js';
import { StopChecker } from './stop.js';
import { TtlChecker } from './ttl.js';
import type { Checker } from './types.js';
import { WatchdogChecker } from './watchdog.js';

export * from './types.js';

export function makeCheckers(): Checker[] {
  return [
    new ExitZeroChecker(),
    new BackoffChecker(),
    new RestartLimitChecker(),
    new StopChecker(),
    new TtlChecker(),
    new QuotaChecker(),
    new OrphanChecker(),
    new RestoreChecker(),
    new ContractChecker(),
    new WatchdogChecker(),
    new PlacementChecker(),
    new ServicesChecker(),
    new DecisionChecker(),
    new QueueOrderChecker(),
    new QueueSingleChecker(),
    new QueueDurableChecker(),
    new QueueRerunChecker(),
  ];
}
