import type { Request } from 'express';
import { downloadHeaders, isClientAbort } from './http-safety';

const request = (state: { complete: boolean; destroyed: boolean }) =>
  ({ ...state, socket: { destroyed: state.destroyed } }) as unknown as Request;
const withCode = (message: string, code?: string) => Object.assign(new Error(message), code ? { code } : {});

describe('isClientAbort', () => {
  const gone = request({ complete: false, destroyed: true });

  it("is the request stream's own error once the client went away mid-body", () => {
    expect(isClientAbort(gone, withCode('aborted', 'ECONNRESET'))).toBe(true);
    expect(isClientAbort(gone, withCode('Premature close', 'ERR_STREAM_PREMATURE_CLOSE'))).toBe(true);
    expect(isClientAbort(gone, new Error('write failed', { cause: withCode('aborted', 'ECONNRESET') }))).toBe(true);
  });

  it('is not a server failure, a complete body, or a client still connected', () => {
    // the disk failing destroys the request too: that stays an error
    expect(isClientAbort(gone, withCode('no space left on device', 'ENOSPC'))).toBe(false);
    expect(isClientAbort(gone, 'aborted')).toBe(false);
    expect(isClientAbort(request({ complete: true, destroyed: true }), withCode('aborted', 'ECONNRESET'))).toBe(false);
    expect(isClientAbort(request({ complete: false, destroyed: false }), withCode('aborted', 'ECONNRESET'))).toBe(
      false,
    );
  });
});

describe('downloadHeaders', () => {
  it('names the attachment after the last path segment, with an ASCII fallback, under a sandbox CSP', () => {
    expect(downloadHeaders('a/b/report "final" 100%.pdf')).toEqual({
      'Content-Disposition': `attachment; filename="report _final_ 100_.pdf"; filename*=UTF-8''report%20%22final%22%20100%25.pdf`,
      'Content-Security-Policy': "default-src 'none'; sandbox",
    });
    expect(downloadHeaders("x/l'été (1).txt")['Content-Disposition']).toBe(
      `attachment; filename="l'_t_ (1).txt"; filename*=UTF-8''l%27%C3%A9t%C3%A9%20%281%29.txt`,
    );
    expect(downloadHeaders('dir/')['Content-Disposition']).toBe('attachment');
  });
});
