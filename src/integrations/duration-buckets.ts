/**
 * Histogram buckets, in seconds, for database client durations (the ones
 * OpenTelemetry's semantic conventions advise): 1 ms to 10 s.
 *
 * ```ts
 * new Histogram({ name: 'x_seconds', help: '...', buckets: [...DURATION_BUCKETS] })
 * ```
 */
export const DURATION_BUCKETS: readonly number[] = Object.freeze([0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10])
