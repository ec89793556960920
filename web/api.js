// Requests to the JSON API, with the bearer token from sessionStorage when one is set.

const TOKEN_KEY = "podmortem.token";

// An API request that failed. `status` is the HTTP status, or 0 when no response arrived,
// and `message` is the API's `error` text when its body has one.
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }

  get unauthorized() {
    return this.status === 401;
  }
}

export function storedToken() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function storeToken(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
}

export function forgetToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

// Fetches `path` (same origin) and returns its parsed JSON body. Throws ApiError when the
// request fails or the status is not 2xx.
export async function getJson(path, { signal } = {}) {
  const headers = { Accept: "application/json" };
  const token = storedToken();
  if (token) {
    headers.Authorization = `Bearer ${token}`;
  }

  let response;
  try {
    response = await fetch(path, { headers, signal, credentials: "same-origin" });
  } catch (error) {
    if (error.name === "AbortError") {
      throw error;
    }
    throw new ApiError(0, `request to ${path} failed: ${error.message}`);
  }

  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (!response.ok) {
    const message =
      body && typeof body.error === "string"
        ? body.error
        : `${path} returned HTTP ${response.status}`;
    throw new ApiError(response.status, message);
  }
  if (body === null) {
    throw new ApiError(response.status, `${path} returned a body that is not JSON`);
  }
  return body;
}
