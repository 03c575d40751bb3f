/** The kinds of runbook steps: the spec parses them, the run machine steps through them. */
export const STEP_KINDS = ['http', 'command', 'keel', 'wait', 'approval', 'condition'] as const;
export type StepKind = (typeof STEP_KINDS)[number];
