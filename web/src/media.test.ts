import { MediaDeviceFailure } from 'livekit-client';
import { describe, expect, it } from 'vitest';
import { failureText, mediaErrorText, PERMISSION_TEXT } from './media';

/** An error as getUserMedia rejects with: only its name tells what failed. */
function mediaError(name: string): Error {
  const e = new Error('getUserMedia failed');
  e.name = name;
  return e;
}

describe('device failure text', () => {
  it.each([
    ['NotAllowedError', PERMISSION_TEXT],
    ['NotFoundError', 'No camera or microphone was found. Plug one in, then press Try again.'],
    ['NotReadableError', 'Your camera or microphone is in use by another program. Close it, then press Try again.'],
    ['AbortError', 'Your camera or microphone could not be started. Check that they are connected and allowed, then press Try again.'],
  ])('before joining, %s reads as advice with Try again', (name, text) => {
    expect(mediaErrorText(mediaError(name))).toBe(text);
  });

  it('before joining, something that is not an error still gets advice', () => {
    expect(mediaErrorText('odd')).toMatch(/could not be started/);
  });

  it.each([
    [MediaDeviceFailure.PermissionDenied, PERMISSION_TEXT],
    [MediaDeviceFailure.NotFound, 'No camera or microphone was found. Plug one in and turn it on with the buttons below.'],
    [MediaDeviceFailure.DeviceInUse, 'Your camera or microphone is in use by another program. Close it and turn it on again below.'],
    [MediaDeviceFailure.Other, 'Your camera or microphone could not be started. Check them and turn them on again below.'],
    [undefined, 'Your camera or microphone could not be started. Check them and turn them on again below.'],
  ])('during a talk, %s points at the buttons below', (failure, text) => {
    expect(failureText(failure)).toBe(text);
  });
});
