import { ApiError, ensureFreshSession, errorFromResponse } from './client';

export type UploadOptions = {
  /** Request-body bytes sent so far, of `total` (files plus multipart framing). */
  onProgress?: (loaded: number, total: number) => void;
  signal?: AbortSignal;
};

type Answer = { status: number; statusText: string; body: string };

function send(path: string, form: FormData, options: UploadOptions): Promise<Answer> {
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) {
      reject(new DOMException('The upload was cancelled.', 'AbortError'));
      return;
    }
    const xhr = new XMLHttpRequest();
    const onAbort = () => xhr.abort();
    xhr.open('POST', path);
    xhr.withCredentials = true;
    xhr.setRequestHeader('accept', 'application/json');
    xhr.upload.onprogress = (event) => options.onProgress?.(event.loaded, event.lengthComputable ? event.total : 0);
    xhr.onload = () => {
      options.signal?.removeEventListener('abort', onAbort);
      resolve({ status: xhr.status, statusText: xhr.statusText, body: xhr.responseText });
    };
    xhr.onerror = () => {
      options.signal?.removeEventListener('abort', onAbort);
      reject(new ApiError(0, 'network_error', 'The upload was interrupted: the server could not be reached. Check your connection and try again.'));
    };
    xhr.onabort = () => {
      options.signal?.removeEventListener('abort', onAbort);
      reject(new DOMException('The upload was cancelled.', 'AbortError'));
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    // The browser writes the multipart boundary into content-type itself.
    xhr.send(form);
  });
}

const asResponse = (answer: Answer) => new Response(answer.body, { status: answer.status, statusText: answer.statusText });

/**
 * Posts a multipart form with XMLHttpRequest, which (unlike fetch) reports upload progress,
 * and returns the JSON answer. A 401 is handed to the session logic once (it renews an
 * expired access cookie, or ends the session) and the form is sent again.
 */
export async function postForm<T>(path: string, form: FormData, options: UploadOptions = {}): Promise<T> {
  let answer = await send(path, form, options);
  if (answer.status === 401) {
    // Renews the access cookie; throws (and signs out) when the session is over.
    await ensureFreshSession();
    answer = await send(path, form, options);
  }
  if (answer.status < 200 || answer.status >= 300) throw await errorFromResponse(asResponse(answer));
  try {
    return JSON.parse(answer.body) as T;
  } catch {
    throw new ApiError(answer.status, 'invalid_response', `The server answered ${answer.status} without the expected JSON.`);
  }
}
