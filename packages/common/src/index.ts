/** @datapilot/common: what every DataPilot service shares — errors, config, logging, tenancy. */
export * from './errors.ts';
export * from './logger.ts';
export * from './config.ts';
export * from './tenancy.ts';
export * from './json-scalar.ts';
export * from './ports.ts';
export * from './migrations.ts';
export * from './http.ts';
export * from './shutdown.ts';
export * from './pg.ts';
export * from './keyset.ts';
export * from './ws.ts';
export * from './arguments.ts';
