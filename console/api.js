// api.js — every call the console makes to bulkimportd: the token from sign-in on each request
// (Authorization header; never in a URL), JSON in and out, errors as ApiError with the server's
// message, and Server-Sent Events read with fetch() (EventSource cannot send the header).

const TOKEN_KEY = 'bulkimport.token';

// A refused or failed call: status is the HTTP status (0: the server was not reached).
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

// The token lives in sessionStorage: this tab only, gone when it closes.
export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

// Keeps value as the token (a falsy value forgets it).
export function setToken(value) {
  if (value)
    sessionStorage.setItem(TOKEN_KEY, value);
  else
    sessionStorage.removeItem(TOKEN_KEY);
}

let onUnauthorized = () => {};

// fn() runs whenever the server refuses the token (401): the console returns to sign-in.
export function whenUnauthorized(fn) {
  onUnauthorized = fn;
}

function headers(extra) {
  return {Authorization: `Token ${token()}`, 'X-Requested-With': 'bulkimport-console', ...extra};
}

async function errorOf(response) {
  let message = `${response.status} ${response.statusText}`;
  try {
    const body = await response.json();
    message = body.message || body.detail || body.exception || JSON.stringify(body);
  } catch {}
  return new ApiError(response.status, message);
}

// Calls the API: resolves with the parsed JSON (or text, or null for 204), and with the
// response itself when opts.raw. Rejects with ApiError; a 401 also signs out, unless
// opts.signingIn (the sign-in form answers it itself).
export async function api(path, opts = {}) {
  const {method = 'GET', body, raw = false, signal, accept = 'application/json', signingIn = false} = opts;
  const extra = {Accept: accept};
  let payload = body;
  if (body !== undefined && !(body instanceof FormData) && typeof body !== 'string') {
    extra['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  const response = await fetch(path, {method, headers: headers(extra), body: payload, signal});
  if (response.status === 401 && !signingIn) {
    onUnauthorized('The server did not accept your token: sign in again.');
    throw await errorOf(response);
  }
  if (!response.ok)
    throw await errorOf(response);
  if (raw)
    return response;
  if (response.status === 204)
    return null;
  const type = response.headers.get('Content-Type') || '';
  return type.includes('json') ? response.json() : response.text();
}

// A list page with oclapi2's paging headers: {items, total, pages, page}.
export async function page(path, signal) {
  const response = await api(path, {raw: true, signal});
  const items = await response.json();
  const total = Number(response.headers.get('num_found') ?? items.length);
  return {items, total, pages: Number(response.headers.get('pages') ?? 1),
          page: Number(response.headers.get('page_number') ?? 1)};
}

// Follows the event stream at path until signal aborts: onEvent(name, data) per event, and
// onState('open' | 'retrying' | 'closed') as the connection comes and goes. Reconnects with
// backoff after a network or server error; a 4xx (the task is gone, ...) ends it.
export async function follow(path, signal, onEvent, onState = () => {}) {
  let delay = 1000;
  while (!signal.aborted) {
    try {
      const response = await api(path, {raw: true, signal, accept: 'text/event-stream'});
      onState('open');
      delay = 1000;
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const {value, done} = await reader.read();
        if (done)
          break;
        buffer += value;
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let name = 'message', data = '';
          for (const line of block.split('\n')) {
            if (line.startsWith('event:'))
              name = line.slice(6).trim();
            else if (line.startsWith('data:'))
              data += line.slice(5).trim();
          }
          if (data)
            onEvent(name, JSON.parse(data));
        }
      }
    } catch (e) {
      /* the network or the server (5xx, 503 beyond --max-waiters) may come back; a refusal won't */
      const refused = e instanceof ApiError && e.status >= 400 && e.status < 500 && e.status !== 429;
      if (signal.aborted || refused) {
        if (refused)
          onState('closed');
        return;
      }
    }
    if (signal.aborted)
      return;
    onState('retrying');
    await new Promise(resolve => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, 15000);
  }
}

// Uploads form to path with XMLHttpRequest (fetch reports no upload progress): onProgress(sent,
// total) as it goes; resolves with the JSON answer, rejects with ApiError.
export function upload(path, form, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', path);
    xhr.setRequestHeader('Authorization', `Token ${token()}`);
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.upload.onprogress = e => onProgress(e.loaded, e.lengthComputable ? e.total : 0);
    xhr.onerror = () => reject(new ApiError(0, 'the upload failed: the server could not be reached'));
    xhr.onload = () => {
      let body = null;
      try { body = JSON.parse(xhr.responseText); } catch {}
      if (xhr.status === 401)
        onUnauthorized('The server did not accept your token: sign in again.');
      if (xhr.status >= 200 && xhr.status < 300 && body)
        resolve(body);
      else
        reject(new ApiError(xhr.status, (body && (body.message || body.exception)) ||
                                        `${xhr.status} ${xhr.statusText}`));
    };
    xhr.send(form);
  });
}

// Downloads path (with the token) as a file named name.
export async function download(path, name) {
  const response = await api(path, {raw: true, accept: '*/*'});
  const url = URL.createObjectURL(await response.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}
