export * from './rule-for.ts';
export * from './advise.ts';
export * from './render.ts';
export * from './advice-key.ts';
