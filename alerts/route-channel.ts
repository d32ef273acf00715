/**
 * Label-based routing of an alert group to a Slack channel, with Alertmanager's matcher semantics:
 * equality and anchored regex matchers, a missing label reads as the empty string, first match wins.
 */

/** One `routes:` entry of the configuration file. */
export interface RouteSpec {
  /** Label equality matchers; all must hold. */
  match?: Record<string, string> | undefined;
  /** Label regex matchers, anchored at both ends; all must hold. */
  matchRegex?: Record<string, string> | undefined;
  /** Slack channel id that receives the groups this route matches. */
  channel: string;
}

/** A route whose regexes are compiled once at startup, not per alert. */
export interface CompiledRoute {
  readonly channel: string;
  readonly equal: ReadonlyArray<readonly [label: string, value: string]>;
  readonly regex: ReadonlyArray<readonly [label: string, pattern: RegExp]>;
}

/**
 * Compiles a route. Regexes are anchored as `^(?:…)$`, exactly as Alertmanager anchors its
 * matchers, so `pay` matches only `pay` and `pay.*` is needed for `payments`.
 * Patterns are JavaScript regexes, not Go RE2: the common subset behaves the same, but
 * RE2-only syntax (`(?P<name>…)`, `\z`) is rejected and JS-only syntax (lookaround) is accepted.
 *
 * @throws Error naming the label and the pattern when a regex does not compile.
 */
export function compileRoute(spec: RouteSpec): CompiledRoute {
  const equal = Object.entries(spec.match ?? {});
  const regex = Object.entries(spec.matchRegex ?? {}).map(([label, pattern]) => {
    try {
      // Compiled alone first: `a)|(b` is invalid, yet spliced into the anchors it would become
      // the valid but unanchored `^(?:a)|(b)$`.
      new RegExp(pattern);
      // No flags: like Go's regexp, `.` does not match a newline and `$` is end of text.
      return [label, new RegExp(`^(?:${pattern})$`)] as const;
    } catch (error) {
      throw new Error(
        `route for channel ${spec.channel}: matchRegex.${label} is not a valid regular expression ` +
          `(${JSON.stringify(pattern)}); fix the pattern in the routes section of the config file`,
        { cause: error },
      );
    }
  });
  return { channel: spec.channel, equal, regex };
}

/**
 * Picks the channel for a group: the first route whose every matcher holds for `labels`
 * (the group's commonLabels), else `defaultChannel`. A route without matchers matches everything.
 */
export function routeChannel(
  labels: Readonly<Record<string, string>>,
  routes: readonly CompiledRoute[],
  defaultChannel: string,
): string {
  const route = routes.find((candidate) => matches(labels, candidate));
  return route?.channel ?? defaultChannel;
}

function matches(labels: Readonly<Record<string, string>>, route: CompiledRoute): boolean {
  return (
    route.equal.every(([label, value]) => valueOf(labels, label) === value) &&
    route.regex.every(([label, pattern]) => pattern.test(valueOf(labels, label)))
  );
}

/** Alertmanager treats an absent label as one whose value is "". */
function valueOf(labels: Readonly<Record<string, string>>, label: string): string {
  // Own properties only: a label named "constructor" must not read Object.prototype.
  return Object.hasOwn(labels, label) ? (labels[label] ?? '') : '';
}

/** Labels of `/ops doctor`'s synthetic alert (src/doctor/checks/synthetic-check.ts). */
export const SYNTHETIC_LABEL = 'lookout_synthetic';
export const SYNTHETIC_CHANNEL_LABEL = 'lookout_synthetic_channel';

/**
 * The channel a synthetic alert group asks for: doctor's reply and its round trip belong where
 * doctor was run, whatever the routes say. Only when every alert of the group is synthetic (both
 * labels common to all) and the channel looks like a Slack conversation id.
 */
export function syntheticChannel(commonLabels: Readonly<Record<string, string>>): string | undefined {
  const channel = commonLabels[SYNTHETIC_CHANNEL_LABEL];
  if (commonLabels[SYNTHETIC_LABEL] === undefined || channel === undefined) return undefined;
  return /^[CGD][A-Z0-9]{2,}$/.test(channel) ? channel : undefined;
}
