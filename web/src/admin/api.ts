// Every call of the console API: same-origin, the session cookie, and the header
// the server requires on cookie-authenticated changes (CSRF; see console/sessions.py).

export const CSRF_HEADER = { 'X-Requested-With': 'randomchat-console' } as const;

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

// A 401 anywhere means the session ended: the console goes back to sign-in.
let onSignedOut: (() => void) | null = null;
export function whenSignedOut(callback: (() => void) | null): void {
  onSignedOut = callback;
}

async function detailOf(response: Response): Promise<string> {
  try {
    const body: unknown = await response.json();
    if (body && typeof body === 'object' && 'detail' in body && typeof body.detail === 'string') {
      return body.detail;
    }
  } catch {
    // not JSON: fall through to the status text
  }
  return `${response.status} ${response.statusText}`;
}

export async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { ...CSRF_HEADER };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) {
    const detail = await detailOf(response);
    if (response.status === 401 && !path.endsWith('/session')) onSignedOut?.();
    throw new ApiError(response.status, detail);
  }
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}

export const api = {
  get: <T>(path: string) => call<T>('GET', path),
  post: <T>(path: string, body: unknown = {}) => call<T>('POST', path, body),
  del: <T>(path: string) => call<T>('DELETE', path),
};

export function query(params: Record<string, string | number | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== '') search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}
