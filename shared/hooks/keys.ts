import type { Key } from '../store/table.ts';

/**
 * Where webhook records live: an endpoint under its own id (the public route reads it by id),
 * listed by application (GSI2); a delivery under its endpoint and the provider's delivery id (the
 * dedup key), listed by endpoint newest first (GSI2); a run a dispatch started, one marker per
 * dispatch and pipeline, so a bus retry never starts it twice; refusals counted per day.
 */
export const hookKeys = {
  endpoint: (id: string): Key => ({ PK: `HOOK#${id}`, SK: 'HOOK' }),
  delivery: (hookId: string, deliveryId: string): Key => ({ PK: `HOOK#${hookId}`, SK: `DELIVERY#${deliveryId}` }),
  dispatched: (dispatchId: string, pipelineId: string): Key => ({ PK: `HOOK_DISPATCH#${dispatchId}`, SK: pipelineId }),
  refusals: (provider: string, day: string): Key => ({ PK: `HOOK_REFUSALS#${provider}`, SK: day }),
};

export const hookIndexes = {
  endpointsOfApp: (appId: string) => `APP_HOOKS#${appId}`,
  deliveriesOfEndpoint: (hookId: string) => `HOOK_DELIVERIES#${hookId}`,
};

/** Deliveries are kept (and deduplicated) for 30 days; providers redeliver for far less. */
export const DELIVERY_RETENTION_SECONDS = 30 * 24 * 60 * 60;
