/** Progress on stderr: a cli-progress bar on a TTY, a plain line every few seconds otherwise. */

import cliProgress from 'cli-progress';
import type { CampaignSummary } from './campaign.js';

export interface Progress {
  update(done: number, summary: CampaignSummary): void;
  stop(): void;
}

const PLAIN_EVERY_MS = 5000;

export function createProgress(total: number, label: string): Progress {
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        stream: process.stderr,
        format:
          `${label} [{bar}] {value}/{total} seeds | {lifecycles} lifecycles | ` +
          '{failures} violations | {eta_formatted}',
        hideCursor: true,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0, { lifecycles: 0, failures: 0 });
    return {
      update: (done, s) =>
        bar.update(done, { lifecycles: s.lifecycles, failures: s.failures.length }),
      stop: () => bar.stop(),
    };
  }
  let lastMs = Date.now();
  return {
    update: (done, s) => {
      const nowMs = Date.now();
      if (nowMs - lastMs < PLAIN_EVERY_MS && done !== total) return;
      lastMs = nowMs;
      process.stderr.write(
        `${label}: ${done}/${total} seeds, ${s.lifecycles} lifecycles, ` +
          `${s.failures.length} violations\n`,
      );
    },
    stop: () => {},
  };
}
