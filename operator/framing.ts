/**
 * HTTP framing errors as JSON (PROTOCOL.md §5: every error is `{ error }` with a 4xx). A request
 * Node's parser refuses before Koa sees it — a bad chunk size, Content-Length with chunked, two
 * Content-Lengths, headers over the limit, a bad method token, headers too slow — would get
 * Node's bare status line; this answers it with a JSON body and `Connection: close`.
 */
import type { Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

/** The status and message a parser error code is answered with. */
export function framingError(code: string | undefined): { status: number; error: string } {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW': return { status: 431, error: 'request headers too large' };
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW': return { status: 413, error: 'chunk extensions too large' };
    case 'ERR_HTTP_REQUEST_TIMEOUT': return { status: 408, error: 'request timeout' };
    default: return { status: 400, error: 'malformed HTTP request' };
  }
}

const REASONS: Record<number, string> = { 400: 'Bad Request', 408: 'Request Timeout', 413: 'Payload Too Large', 431: 'Request Header Fields Too Large' };

/** Answer the server's client (framing) errors with JSON `{ error }`, or just close a socket that can take no answer. */
export function answerFramingErrors(server: Server): void {
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (err.code === 'ECONNRESET' || !socket.writable) { socket.destroy(); return; }
    const { status, error } = framingError(err.code);
    const body = JSON.stringify({ error });
    const answer = () => socket.writable ? socket.end(`HTTP/1.1 ${status} ${REASONS[status]}\r\nContent-Type: application/json; charset=utf-8\r\n`
      + `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`) : socket.destroy();
    const inFlight = (socket as Duplex & { _httpMessage?: ServerResponse | null })._httpMessage;
    if (!inFlight || inFlight.writableFinished) answer();
    // the broken part is the body of the request being answered: answer in its place if it has not begun
    else if (!inFlight.req.complete) { if (inFlight.headersSent) socket.destroy(); else answer(); }
    // a whole keep-alive request before the broken one is still answering: ours goes after it, never inside it
    else inFlight.once('finish', answer).once('close', () => { if (!inFlight.writableFinished) socket.destroy(); });
  });
}
