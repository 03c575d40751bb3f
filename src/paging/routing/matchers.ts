/**
 * Label matchers in Alertmanager's syntax, so people write what they already know:
 * `team="payments"`, `env!="dev"`, `alertname=~"Disk.*"`, `instance!~"test-.*"`. Regexes are
 * anchored at both ends (as in Alertmanager), and a missing label matches as the empty string.
 * Pure: no I/O.
 */
export type MatchOp = '=' | '!=' | '=~' | '!~';

export interface Matcher {
  label: string;
  op: MatchOp;
  value: string;
  /** Compiled once for the regex operators. */
  regex?: RegExp;
}

const MATCHER = /^\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$/;

export class MatcherError extends Error {}

/** Parses one matcher; throws MatcherError with a message that says what is wrong. */
export function parseMatcher(text: string): Matcher {
  const m = MATCHER.exec(text);
  if (!m) throw new MatcherError(`"${text}" is not a matcher; write label="value", label!="value", label=~"regex" or label!~"regex"`);
  const label = m[1]!;
  const op = m[2] as MatchOp;
  let value = m[3]!;
  if (value.startsWith('"')) {
    if (value.length < 2 || !value.endsWith('"')) throw new MatcherError(`"${text}": the value's closing quote is missing`);
    try {
      value = JSON.parse(value) as string;
    } catch {
      throw new MatcherError(`"${text}": the quoted value is not a valid string`);
    }
  }
  const matcher: Matcher = { label, op, value };
  if (op === '=~' || op === '!~') {
    try {
      matcher.regex = new RegExp(`^(?:${value})$`);
    } catch (e) {
      throw new MatcherError(`"${text}": invalid regular expression: ${(e as Error).message}`);
    }
  }
  return matcher;
}

export function matches(m: Matcher, labels: Readonly<Record<string, string>>): boolean {
  const v = labels[m.label] ?? '';
  switch (m.op) {
    case '=':
      return v === m.value;
    case '!=':
      return v !== m.value;
    case '=~':
      return m.regex!.test(v);
    case '!~':
      return !m.regex!.test(v);
  }
}

/** True when every matcher matches (an empty list matches everything). */
export function matchesAll(matchers: readonly Matcher[], labels: Readonly<Record<string, string>>): boolean {
  return matchers.every((m) => matches(m, labels));
}

export function formatMatcher(m: Matcher): string {
  return `${m.label}${m.op}${JSON.stringify(m.value)}`;
}
