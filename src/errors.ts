/**
 * Errors meant for the person in Slack. Only these reach chat with their own text;
 * anything else is reported as "internal error (ref …)" and logged with its cause.
 */
export class UserError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The request itself is wrong: bad arguments, unknown subcommand. */
export class InvalidInput extends UserError {}

/** The person may not do this; the message names the missing permission. */
export class Forbidden extends UserError {}

export class NotFound extends UserError {}

export class Conflict extends UserError {}

/** A service the action needs (Alertmanager, Vault…) did not answer or is not configured; nothing was done. */
export class Unavailable extends UserError {}

/** Configuration cannot be used; lists every problem at once. */
export class ConfigError extends Error {
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(`invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}
