import type { ServerResponse } from 'node:http';

/** The raw Node response behind an Express response or a Fastify reply. */
export function rawResponse(response: unknown): ServerResponse {
  const candidate = response as { raw?: ServerResponse };
  return candidate.raw ?? (response as ServerResponse);
}
