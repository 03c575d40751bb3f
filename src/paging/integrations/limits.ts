/**
 * Limits on what the integration endpoints accept. Other systems send these bodies, often
 * retrying what fails with a 5xx, so everything over a limit is a 400/413 naming the limit.
 */

/** Deepest nesting of a JSON body (Events v2 `custom_details` is free-form); the body is level 1. */
export const INTEGRATION_MAX_DEPTH = 32;

/** Largest Events v2 body: PagerDuty's own limit for one event. */
export const EVENTS_V2_MAX_BYTES = 512 * 1024;

/** Largest Alertmanager webhook body (up to 1,000 alerts with labels and annotations). */
export const ALERTMANAGER_MAX_BYTES = 4 * 1024 * 1024;

/** Largest heartbeat ping body; the body itself is never parsed. */
export const HEARTBEAT_MAX_BYTES = 64 * 1024;
