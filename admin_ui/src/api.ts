// The only way the UI talks to the server: POST /graphql with the session
// cookie and the X-CSRF-Token header (docs/api.md), and the graphql-transport-ws
// subscription on the same path.
import { createClient, type Client } from "graphql-ws";
import type { TypedDocumentString } from "./gql/graphql";

export type UserError = { field: string | null; code: string; message: string };

/** A request the server refused as a whole (top-level `errors`), or no answer at all. */
export class ApiError extends Error {
  constructor(message: string, readonly code: string) {
    super(message);
  }
}

const CSRF_COOKIE = "lw_csrf";
let csrfToken: string | null = null;
let onSessionEnded: ((message: string) => void) | null = null;

export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

export function setSessionEndedHandler(handler: (message: string) => void): void {
  onSessionEnded = handler;
}

function csrf(): string | null {
  // Set by signIn/switchAccount; after a reload it is read back from its cookie.
  if (csrfToken) return csrfToken;
  const found = document.cookie.split("; ").find((c) => c.startsWith(`${CSRF_COOKIE}=`));
  return found ? decodeURIComponent(found.slice(CSRF_COOKIE.length + 1)) : null;
}

type GraphQLResponse<T> = {
  data?: T | null;
  errors?: { message: string; extensions?: { code?: string } }[];
};

export async function request<TResult, TVariables>(
  document: TypedDocumentString<TResult, TVariables>,
  ...[variables]: TVariables extends Record<string, never> ? [] : [TVariables]
): Promise<TResult> {
  const headers: Record<string, string> = { "content-type": "application/json", accept: "application/json" };
  const token = csrf();
  if (token) headers["x-csrf-token"] = token;
  let response: Response;
  try {
    response = await fetch("/graphql", {
      method: "POST",
      headers,
      credentials: "same-origin",
      body: JSON.stringify({ query: document.toString(), variables: variables ?? {} }),
    });
  } catch {
    throw new ApiError("The server cannot be reached. Check your connection and try again.", "NETWORK");
  }
  let body: GraphQLResponse<TResult>;
  try {
    body = await response.json();
  } catch {
    throw new ApiError(`The server answered ${response.status} ${response.statusText}.`, "NETWORK");
  }
  if (body.errors?.length) {
    const first = body.errors[0];
    const code = first.extensions?.code ?? "ERROR";
    if (code === "UNAUTHENTICATED") onSessionEnded?.(first.message);
    throw new ApiError(first.message, code);
  }
  if (!body.data) throw new ApiError("The server sent no data.", "ERROR");
  return body.data;
}

/** A mutation payload's userErrors that mean the session is gone end the session too. */
export function checkSession(errors: UserError[]): UserError[] {
  const gone = errors.find((e) => e.code === "UNAUTHENTICATED");
  if (gone) onSessionEnded?.(gone.message);
  return errors;
}

let wsClient: Client | null = null;
export type SocketState = "connecting" | "live" | "reconnecting" | "closed";
const socketListeners = new Set<(s: SocketState) => void>();

function emitSocket(state: SocketState) {
  socketListeners.forEach((l) => l(state));
}

export function onSocketState(listener: (s: SocketState) => void): () => void {
  socketListeners.add(listener);
  return () => socketListeners.delete(listener);
}

/** The websocket, opened on first use; the browser sends the session cookie with it. */
export function socket(): Client {
  if (!wsClient) {
    const url = new URL("/graphql", window.location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    let connectedOnce = false;
    wsClient = createClient({
      url: url.toString(),
      lazy: true,
      keepAlive: 20_000,
      retryAttempts: Infinity,
      shouldRetry: () => true,
      retryWait: async (retries) => {
        await new Promise((r) => setTimeout(r, Math.min(30_000, 1000 * 2 ** Math.min(retries, 5))));
      },
      on: {
        connecting: () => emitSocket(connectedOnce ? "reconnecting" : "connecting"),
        connected: () => {
          connectedOnce = true;
          emitSocket("live");
        },
        closed: () => emitSocket(connectedOnce ? "reconnecting" : "connecting"),
      },
    });
  }
  return wsClient;
}

export function closeSocket(): void {
  if (wsClient) {
    void wsClient.dispose();
    wsClient = null;
    emitSocket("closed");
  }
}

/** POST a file as multipart/form-data (field `file`) with the session and CSRF header; reports upload progress (0 to 1). */
export function uploadFile<T>(path: string, file: File, onProgress: (fraction: number) => void): Promise<{ status: number; body: T }> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", path);
    xhr.withCredentials = true;
    const token = csrf();
    if (token) xhr.setRequestHeader("x-csrf-token", token);
    xhr.setRequestHeader("accept", "application/json");
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) onProgress(e.loaded / e.total);
    };
    xhr.onload = () => {
      let body: T;
      try {
        body = JSON.parse(xhr.responseText) as T;
      } catch {
        reject(new ApiError(`The server answered ${xhr.status} ${xhr.statusText}.`, "NETWORK"));
        return;
      }
      if (xhr.status === 401) onSessionEnded?.("Your session has ended. Please sign in again.");
      resolve({ status: xhr.status, body });
    };
    xhr.onerror = () => reject(new ApiError("The server cannot be reached. Check your connection and try again.", "NETWORK"));
    const form = new FormData();
    form.append("file", file);
    xhr.send(form);
  });
}
