/**
 * Errors that happen before a request reaches a route: the HTTP parser refusing the bytes
 * (malformed Content-Length, chunked encoding or headers; a client too slow to send its request)
 * and fastify refusing the URL. Fastify and Node answer these in their own shapes; Keel answers
 * every error as `{"error": {"code", "message"}}`, so clients need one error parser.
 */
import type { Socket } from 'node:net';
import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { KeelError } from '../core/errors.js';

/** What a parser error (`clientError`, err.code `HPE_*` or `ERR_HTTP_*`) means to the client. */
export function clientErrorAnswer(err: { code?: string; reason?: string; message?: string }): KeelError {
  const code = err.code ?? '';
  switch (code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new KeelError('request_timeout', 'the request was not sent completely in time; send it again');
    case 'HPE_HEADER_OVERFLOW':
      return new KeelError('headers_too_large', 'request headers are larger than the limit (16 KiB)');
    case 'HPE_INVALID_CONTENT_LENGTH':
    case 'HPE_UNEXPECTED_CONTENT_LENGTH':
      return new KeelError('bad_request', 'Content-Length is malformed: send one non-negative integer (and no Transfer-Encoding with it)');
    default: {
      const why = err.reason ?? err.message ?? code;
      if (code === 'HPE_INVALID_CHUNK_SIZE' || code === 'HPE_INVALID_TRANSFER_ENCODING' || /chunk/i.test(why)) {
        return new KeelError('bad_request', `the chunked body is malformed (${why}): each chunk is its size in hexadecimal, CRLF, its data, CRLF; a 0 chunk ends the body`);
      }
      return new KeelError('bad_request', `malformed HTTP request${why ? `: ${why}` : ''}`);
    }
  }
}

/** Fastify's `clientErrorHandler`: the answer is written on the raw socket, which is then closed. */
export function onClientError(err: Error & { code?: string; reason?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const ke = clientErrorAnswer(err);
  const body = JSON.stringify(ke.toJSON());
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${ke.status} ${STATUS_CODES[ke.status] ?? 'Error'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy(err);
}

/** Longest path parameter (e.g. an id in /v1/users/:user) fastify routes; set on the server, named in the 414. */
export const MAX_PARAM_LENGTH = 100;

/** Fastify's `frameworkErrors`: a URL that is not valid percent-encoding, a path parameter too long. */
export function onFrameworkError(err: FastifyError, req: FastifyRequest, reply: FastifyReply): void {
  const path = req.raw.url?.split('?')[0] ?? '';
  const ke =
    err.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? new KeelError('uri_too_long', `a path segment of ${path.slice(0, 200)} is longer than ${MAX_PARAM_LENGTH} characters (the limit)`)
      : err.code === 'FST_ERR_BAD_URL'
        ? new KeelError('bad_request', `the URL path ${path.slice(0, 200)} is not valid percent-encoding`)
        : new KeelError('bad_request', err.message);
  void reply.code(ke.status).type('application/json').send(ke.toJSON());
}
