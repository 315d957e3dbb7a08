import { request as httpRequest, type ClientRequest } from 'node:http';

/**
 * Starts a GET that the test can abandon: `abandon()` destroys the socket the way a browser
 * tab closing does. (Aborting a `fetch` leaves undici's socket half-open for seconds.)
 */
export function abandonableGet(url: string, headers: Record<string, string> = {}): { abandon: () => void } {
  const request: ClientRequest = httpRequest(url, { headers: { ...headers, connection: 'close' } });
  request.on('error', () => undefined);
  request.end();
  return { abandon: () => request.destroy() };
}
