import canI from './can-i.ts';
import certs from './certs.ts';
import type { AnyCommand } from './command.ts';
import { createDoctorCommand, type DoctorCommandOptions } from './doctor.ts';
import help from './help.ts';
import { createLogsCommand, type LogsCommandOptions } from './logs.ts';
import { createSilenceCommand } from './silence.ts';
import type { SilenceCommandDeps } from './silence-support.ts';
import { createSilencesCommand } from './silences.ts';
import { createUnsilenceCommand } from './unsilence.ts';
import restart from './restart.ts';
import { createRotateCommand, type RotateCommandOptions } from './rotate.ts';
import scale from './scale.ts';
import { createStatusCommand, type StatusCommandOptions } from './status.ts';
import { createHistoryCommand } from './history.ts';
import whoami from './whoami.ts';

/** What commands that talk to other systems are built with (src/lookout.ts). */
export interface CommandDeps {
  silences: SilenceCommandDeps;
  logs: LogsCommandOptions;
  /** Without it (tests of other commands), rotate refuses every path. */
  rotate?: RotateCommandOptions;
  /** Without it, `/ops status` shows no alerts ("Alertmanager is not configured"). */
  status?: StatusCommandOptions;
  /** Without it, `/ops doctor` checks nothing but says so. */
  doctor?: DoctorCommandOptions;
}

/** Every subcommand of the slash command, in the order help lists them. */
export function createCommands(deps: CommandDeps): readonly AnyCommand[] {
  return [
    help,
    whoami,
    canI,
    scale,
    restart,
    createLogsCommand(deps.logs),
    createSilenceCommand(deps.silences),
    createSilencesCommand(deps.silences),
    createUnsilenceCommand(deps.silences),
    createRotateCommand(deps.rotate ?? { rules: [] }),
    certs,
    createStatusCommand(deps.status),
    createHistoryCommand(),
    createDoctorCommand(deps.doctor ?? { checks: () => [], checkTimeoutMs: 5000 }),
  ];
}
