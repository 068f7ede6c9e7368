/**
 * The gateway's bounds on one operation are those of every DataPilot GraphQL endpoint, defined once in
 * `packages/common/src/bounds.ts` (depth, fields, input values, cost); the gateway only chooses their values
 * (GATEWAY_MAX_QUERY_DEPTH, GATEWAY_MAX_QUERY_FIELDS; the others keep their defaults).
 */
import { DEFAULT_BOUNDS, useOperationBounds, type OperationBounds } from '@datapilot/common';

/** Bounds of one gateway operation; a bound left out keeps its default ({@link DEFAULT_LIMITS}). */
export type OperationLimits = Partial<OperationBounds>;

/** The gateway's default bounds: `DEFAULT_BOUNDS` of @datapilot/common. */
export const DEFAULT_LIMITS: OperationBounds = DEFAULT_BOUNDS;

/** The Apollo Server plugin that applies `limits` at the gateway: `useOperationBounds` of @datapilot/common. */
export const useOperationLimits = (limits: OperationLimits = {}) => useOperationBounds(limits);
