export * from './token.ts';
export * from './verdict.ts';
export * from './subjects.ts';
export * from './streams.ts';
export * from './events.ts';
export * from './raw-batch.ts';
export * from './policy.ts';
export * from './policy-parse.ts';
