export const VERDICTS = ['ALLOWED', 'DENIED', 'BYPASSED'] as const;
export type Verdict = (typeof VERDICTS)[number];
