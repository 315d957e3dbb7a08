/** Injection token of the resolved telemetry options (internal). */
export const TELEMETRY_OPTIONS = Symbol('nestjs-tasks:telemetry-options');
