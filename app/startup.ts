/**
 * What the process starts with before it connects anywhere: flags resolved over the defaults, the replica
 * election's Lease timings and the plugin module allow-list, each refused with a FlagError naming the flag.
 */
import { FlagError, flagsHelp, type ParsedFlags, parseFlags } from "../core/config/flags.ts";
import {
  type ControllerSettings,
  defaultSettings,
  resolveSettings,
} from "../core/config/controller_settings.ts";
import { type LeaseTimings, leaseTimingsProblem } from "../core/election/timings.ts";
import { defaultStallTimeoutMs, stallTimeoutProblem } from "../core/kube/watch_timing.ts";
import { type AllowPrefix, parseAllowList } from "../core/plugin/module_policy.ts";

export interface Startup {
  defaults: ControllerSettings;
  flags: ParsedFlags;
  settings: ControllerSettings;
  leaseTimings: LeaseTimings;
  /** The watch stall bound of every informer. */
  stallTimeoutMs: number;
  moduleAllow: AllowPrefix[];
}

/**
 * Parses `argv`; `--help` prints the flags and exits. Lease timings in `lease` and a stall bound in
 * `stallTimeoutMs` (tests) win over the flags.
 */
export function readStartup(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  lease: { durationMs?: number; renewDeadlineMs?: number; retryPeriodMs?: number } = {},
  testStallTimeoutMs?: number,
): Startup {
  const defaults = defaultSettings(env);
  const flags = parseFlags(argv, env);
  if (flags.help) {
    console.log(flagsHelp(defaults));
    Deno.exit(0);
  }
  const settings = resolveSettings(flags.settings, {}, defaults);
  const leaseTimings: LeaseTimings = {
    leaseDurationMs: lease.durationMs ?? settings.leaderElectLeaseDurationMs,
    renewDeadlineMs: lease.renewDeadlineMs ?? settings.leaderElectRenewDeadlineMs,
    retryPeriodMs: lease.retryPeriodMs ?? settings.leaderElectRetryPeriodMs,
  };
  const timingProblem = leaseTimingsProblem(leaseTimings);
  if (timingProblem) {
    throw new FlagError(
      `flags --leader-elect-lease-duration, --leader-elect-renew-deadline, --leader-elect-retry-period: ${timingProblem}`,
    );
  }
  // Unset, the stall bound follows the lease timings, so a stalled watch is reopened within the renew deadline.
  const stallTimeoutMs = testStallTimeoutMs ?? flags.settings.watchStallTimeoutMs ??
    defaultStallTimeoutMs(leaseTimings);
  const stallProblem = testStallTimeoutMs === undefined && stallTimeoutProblem(stallTimeoutMs, leaseTimings);
  if (stallProblem) throw new FlagError(`flag --watch-stall-timeout: ${stallProblem}`);
  let moduleAllow: AllowPrefix[];
  try {
    moduleAllow = parseAllowList(settings.pluginModuleAllow, Deno.cwd());
  } catch (e) {
    throw new FlagError((e as Error).message);
  }
  return { defaults, flags, settings, leaseTimings, stallTimeoutMs, moduleAllow };
}
